# On the old laptop: pack the machine with its certificates, encrypted to the new laptop.
mbundle ls
mbundle export dev -r "$(cat new-laptop.pub)" -o dev.mbundle
