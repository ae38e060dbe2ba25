# After losing the disk (~/.docker/machine and ~/.ssh are gone), type the paper key back into
# paper-key.txt and restore everything:
mbundle inspect machines-backup.mbundle -i paper-key.txt
mbundle import machines-backup.mbundle -i paper-key.txt
mbundle ls
eval $(mbundle env dev)
docker version
