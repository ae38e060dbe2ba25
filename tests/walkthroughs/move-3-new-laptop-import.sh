# Carry dev.mbundle over (scp, a USB stick...), then on the new laptop:
mbundle import dev.mbundle -i ~/.config/age/key.txt --docker-context
eval $(mbundle env dev)
docker version
docker --context dev version
