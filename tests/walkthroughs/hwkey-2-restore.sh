# After losing the disk, on any laptop with the plugin installed (the YubiKey asks for its
# PIN and a touch):
mbundle import ca-backup.mbundle -i yubikey-identity.txt
# No YubiKey at hand? The paper key opens the same backup:
mbundle verify ca-backup.mbundle -i paper-key.txt
