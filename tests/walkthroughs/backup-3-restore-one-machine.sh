# Lost one machine (docker-machine rm, a bad script)? See what the backup has, take it back:
mbundle diff machines-backup.mbundle -i ~/.ssh/id_ed25519
mbundle import machines-backup.mbundle dev -i ~/.ssh/id_ed25519
eval $(mbundle env dev)
docker version
