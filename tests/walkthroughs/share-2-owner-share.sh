# Alice shares the machine: Bob gets a client certificate of his own, signed by the
# machine's CA here, and none of Alice's keys or cloud credentials.
mbundle share dev --as bob -R bob.pub -o dev-for-bob.mbundle
