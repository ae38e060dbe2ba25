mkdir -p ~/.local/share/bash-completion/completions ~/.zfunc ~/.config/fish/completions ~/.config/elvish/lib
mbundle completions bash > ~/.local/share/bash-completion/completions/mbundle
mbundle completions zsh > ~/.zfunc/_mbundle      # with fpath+=~/.zfunc before compinit in ~/.zshrc
mbundle completions fish > ~/.config/fish/completions/mbundle.fish
mbundle completions elvish > ~/.config/elvish/lib/mbundle.elv   # and `use mbundle` in rc.elv
mbundle man ~/.local/share/man/man1              # then: man mbundle-import
