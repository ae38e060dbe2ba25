# Once, a paper key: your SSH key lives on the disk you are backing up, so losing the disk
# loses the key too, and a backup only it opens. Print paper-key.txt (or keep it in a
# password manager), store it away from this computer, then delete it here.
age-keygen -o paper-key.txt 2>/dev/null
age-keygen -y paper-key.txt > backup-recipients.txt
# Back up every machine and the CA (certs/, with ca-key.pem), for the SSH key and the paper key:
mbundle export --all -R ~/.ssh/id_ed25519.pub -R backup-recipients.txt -o machines-backup.mbundle
mbundle verify machines-backup.mbundle -i paper-key.txt
