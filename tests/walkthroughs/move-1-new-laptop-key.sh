# On the new laptop: make an age key (once) and send its public half to the old laptop.
mkdir -p ~/.config/age
age-keygen -o ~/.config/age/key.txt
age-keygen -y ~/.config/age/key.txt > new-laptop.pub
