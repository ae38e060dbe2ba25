# Back up every machine and the CA (certs/, with ca-key.pem) to your SSH key.
mbundle export --all -R ~/.ssh/id_ed25519.pub -o machines-backup.mbundle
mbundle verify machines-backup.mbundle -i ~/.ssh/id_ed25519
