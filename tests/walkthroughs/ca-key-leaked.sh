# Whoever holds the CA key can sign a certificate every daemon of the store accepts. A new
# CA, in phases that cut off no host and no client of this store; first, what it will do:
mbundle rotate-ca --dry-run
mbundle rotate-ca --yes
docker --context web version
