# Bob, once: an age key; he sends its public half to Alice.
age-keygen -o ~/bob-key.txt 2>/dev/null
age-keygen -y ~/bob-key.txt > bob.pub
