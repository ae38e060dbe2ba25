# Once, YubiKey plugged in: a key on it and its identity file (which holds no secret, only
# which YubiKey and slot), plus a paper key, printed and locked away.
age-plugin-yubikey --generate > yubikey-identity.txt
age-keygen -o paper-key.txt 2>/dev/null
grep -o 'age1yubikey1[0-9a-z]*' yubikey-identity.txt > backup-recipients.txt
age-keygen -y paper-key.txt >> backup-recipients.txt
# Every machine and the CA key, readable with either key:
mbundle export --all -R backup-recipients.txt -o ca-backup.mbundle
