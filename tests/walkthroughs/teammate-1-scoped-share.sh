# Bob works on web for a while. His certificate is signed by a CA made for his share alone,
# and only web's daemon is made to trust it: it opens web and nothing else.
mbundle share web --as bob -r "$(cat bob.pub)" -o web-for-bob.mbundle --scoped --push --yes
mbundle shares
