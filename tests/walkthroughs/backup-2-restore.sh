# After losing the disk (~/.docker/machine is gone), restore everything:
mbundle inspect machines-backup.mbundle -i ~/.ssh/id_ed25519
mbundle import machines-backup.mbundle -i ~/.ssh/id_ed25519
mbundle ls
eval $(mbundle env dev)
docker version
