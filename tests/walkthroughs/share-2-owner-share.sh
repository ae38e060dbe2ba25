# Alice shares the machine: Bob gets a client certificate of his own, signed by the
# machine's CA here, and none of Alice's keys or cloud credentials. If other machines'
# daemons trust the same CA (prod, made with the same defaults), share names them and asks
# first: Bob's certificate opens those too.
mbundle share dev --as bob -R bob.pub -o dev-for-bob.mbundle
