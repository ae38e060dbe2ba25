# Bob leaves. His share's CA key is destroyed and web's daemon stops trusting it; your own
# certificate keeps working everywhere. A host that cannot be reached now stays listed,
# and running the same revoke again later finishes it.
mbundle revoke bob --yes
mbundle shares
docker --context web version
