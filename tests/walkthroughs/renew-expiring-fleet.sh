# What ends, and when: docker-machine gave the CA, the client certificate and each server
# certificate 1080 days, so they tend to end together.
mbundle ls
# Renew everything that ends within 30 days: the CA (same key: what it signed still
# verifies), each server certificate, the client certificate (with its copies and the docker
# contexts mbundle wrote); then give each host its new files: one host first, live-restore
# armed so containers keep running, checked over TLS, rolled back on any doubt.
# Without --yes it asks before restarting docker.
mbundle regenerate-certs --expiring 30 --client-certs --push --yes
docker --context web version
