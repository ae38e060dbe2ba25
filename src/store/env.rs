//! `mbundle env`: what `docker-machine env` prints, so an imported machine is usable where
//! docker-machine is not installed. Pure rendering; the values come from the store.

use clap::ValueEnum;

/// Shells `env` can write for, as docker-machine names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// bash, sh, ksh.
    Bash,
    /// zsh (same syntax as bash).
    Zsh,
    /// fish.
    Fish,
    /// tcsh, csh.
    Tcsh,
    /// Windows PowerShell / pwsh.
    Powershell,
    /// Windows cmd.exe.
    Cmd,
}

impl Shell {
    /// The user's shell, from `$SHELL` (PowerShell on Windows), bash when unknown.
    pub fn detect() -> Shell {
        if cfg!(windows) {
            return Shell::Powershell;
        }
        let shell = std::env::var("SHELL").unwrap_or_default();
        match shell.rsplit('/').next().unwrap_or("") {
            "fish" => Shell::Fish,
            "zsh" => Shell::Zsh,
            "tcsh" | "csh" => Shell::Tcsh,
            "pwsh" | "powershell" => Shell::Powershell,
            _ => Shell::Bash,
        }
    }
}

/// The variables `docker-machine env` sets, in its order.
pub const VARS: [&str; 4] = [
    "DOCKER_TLS_VERIFY",
    "DOCKER_HOST",
    "DOCKER_CERT_PATH",
    "DOCKER_MACHINE_NAME",
];

pub use crate::text::shell_word;

/// Why `v` cannot be written for `shell` at all, if it cannot: a control character (a
/// newline ends the command; `eval $(...)` would turn it into a space), and for cmd.exe the
/// characters it expands or cannot quote (`%`, `!`, `"`, `^`).
fn unprintable(shell: Shell, v: &str) -> Option<String> {
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Some(format!("it contains the control character {c:?}"));
    }
    if shell == Shell::Cmd {
        if let Some(c) = v.chars().find(|c| matches!(c, '%' | '!' | '"' | '^')) {
            return Some(format!("cmd.exe cannot be given {c:?} safely"));
        }
    }
    None
}

/// A value in double quotes, `$`, `` ` ``, `"` and `\` escaped: what bash, sh, ksh and zsh
/// take literally.
fn quote_posix(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// csh/tcsh: double quotes as docker-machine prints them when nothing in the value is
/// special there; else single quotes (in which csh expands nothing but `!`, escaped).
fn quote_tcsh(v: &str) -> String {
    if !v
        .chars()
        .any(|c| matches!(c, '"' | '\\' | '$' | '`' | '!' | '\''))
    {
        return format!("\"{v}\"");
    }
    format!("'{}'", v.replace('\'', "'\\''").replace('!', "\\!"))
}

fn quote_fish(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        if matches!(c, '"' | '\\' | '$') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// PowerShell double quotes: `` ` ``, `"`, `$` and the typographic double quotes PowerShell
/// also ends a string at are escaped with a backtick.
fn quote_powershell(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        if matches!(c, '`' | '"' | '$' | '\u{201C}' | '\u{201D}' | '\u{201E}') {
            s.push('`');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// cmd.exe: `SET K=V` as docker-machine prints it when V is plain, else `SET "K=V"`, in which
/// `&`, `|`, `<`, `>`, `(` and `)` are literal. (What cmd cannot quote is refused first.)
fn set_cmd(k: &str, v: &str) -> String {
    if v.chars()
        .any(|c| matches!(c, '&' | '|' | '<' | '>' | '(' | ')' | ' '))
    {
        format!("SET \"{k}={v}\"\n")
    } else {
        format!("SET {k}={v}\n")
    }
}

impl Shell {
    /// One word of a command line for this shell (the `-s STORE` and machine name in the
    /// hint), quoted when it holds anything the shell treats specially.
    pub fn word(self, s: &str) -> Result<String, String> {
        if let Some(why) = unprintable(self, s) {
            return Err(why);
        }
        let plain = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c));
        if plain {
            return Ok(s.to_string());
        }
        Ok(match self {
            Shell::Bash | Shell::Zsh => shell_word(s),
            Shell::Tcsh => quote_tcsh(s),
            Shell::Fish => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
            Shell::Powershell => format!(
                "'{}'",
                s.replace('\'', "''")
                    .replace('\u{2018}', "\u{2018}\u{2018}")
                    .replace('\u{2019}', "\u{2019}\u{2019}")
            ),
            Shell::Cmd => format!("\"{s}\""),
        })
    }
}

/// Renders the lines to set (or with `unset`, clear) the variables, then the usage hint
/// naming `invocation` (the command the user would `eval`, its words already quoted with
/// [`Shell::word`]). Refuses (naming the variable) a value that cannot be written safely for
/// the shell, rather than print text that would run part of it as code.
pub fn render(
    shell: Shell,
    values: &[(&str, String)],
    unset: bool,
    invocation: &str,
) -> Result<String, String> {
    let mut out = String::new();
    for (k, v) in values {
        if !unset {
            if let Some(why) = unprintable(shell, v) {
                return Err(format!("cannot write {k} for {shell:?}: {why}"));
            }
        }
        let line = match (shell, unset) {
            (Shell::Bash | Shell::Zsh, false) => format!("export {k}={}\n", quote_posix(v)),
            (Shell::Bash | Shell::Zsh, true) => format!("unset {k}\n"),
            (Shell::Fish, false) => format!("set -gx {k} {};\n", quote_fish(v)),
            (Shell::Fish, true) => format!("set -e {k};\n"),
            (Shell::Tcsh, false) => format!("setenv {k} {};\n", quote_tcsh(v)),
            (Shell::Tcsh, true) => format!("unsetenv {k};\n"),
            (Shell::Powershell, false) => format!("$Env:{k} = {}\n", quote_powershell(v)),
            (Shell::Powershell, true) => format!("Remove-Item Env:\\{k}\n"),
            (Shell::Cmd, false) => set_cmd(k, v),
            (Shell::Cmd, true) => format!("SET {k}=\n"),
        };
        out.push_str(&line);
    }
    // `eval $(...)` unquoted splits the output into words and expands globs in them: values
    // with `*`, `?`, `[`, tabs or runs of spaces survive only `eval "$(...)"`, so then the
    // hint says so (docker-machine's exact text otherwise).
    let fragile = !unset
        && values.iter().any(|(_, v)| {
            v.contains(['*', '?', '[', '\t'])
                || v.contains("  ")
                || v.starts_with(' ')
                || v.ends_with(' ')
        });
    let hint = match shell {
        Shell::Bash | Shell::Zsh if fragile => format!("# Run this command to configure your shell: \n# eval \"$({invocation})\"\n"),
        Shell::Bash | Shell::Zsh => format!("# Run this command to configure your shell: \n# eval $({invocation})\n"),
        Shell::Fish => format!("# Run this command to configure your shell: \n# eval ({invocation})\n"),
        Shell::Tcsh => format!("# Run this command to configure your shell: \n# eval `{invocation}`\n"),
        Shell::Powershell => format!("# Run this command to configure your shell: \n# & {invocation} | Invoke-Expression\n"),
        Shell::Cmd => format!(
            "REM Run this command to configure your shell: \nREM \t@FOR /f \"tokens=*\" %i IN ('{invocation}') DO @%i\n"
        ),
    };
    out.push_str(&hint);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_word("/home/al/.docker/machine"),
            "/home/al/.docker/machine"
        );
        assert_eq!(
            shell_word("root@203.0.113.10:/etc/docker"),
            "root@203.0.113.10:/etc/docker"
        );
        assert_eq!(shell_word("/srv/my store"), "'/srv/my store'");
        assert_eq!(shell_word("/srv/a=b"), "'/srv/a=b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("$HOME"), "'$HOME'");
    }

    fn vals() -> Vec<(&'static str, String)> {
        vec![
            ("DOCKER_TLS_VERIFY", "1".into()),
            ("DOCKER_HOST", "tcp://1.2.3.4:2376".into()),
            (
                "DOCKER_CERT_PATH",
                "/home/a/.docker/machine/machines/web".into(),
            ),
            ("DOCKER_MACHINE_NAME", "web".into()),
        ]
    }

    #[test]
    fn bash_is_what_docker_machine_prints() {
        assert_eq!(
            render(Shell::Bash, &vals(), false, "mbundle env web").unwrap(),
            "export DOCKER_TLS_VERIFY=\"1\"\n\
             export DOCKER_HOST=\"tcp://1.2.3.4:2376\"\n\
             export DOCKER_CERT_PATH=\"/home/a/.docker/machine/machines/web\"\n\
             export DOCKER_MACHINE_NAME=\"web\"\n\
             # Run this command to configure your shell: \n\
             # eval $(mbundle env web)\n"
        );
        let unset = render(Shell::Bash, &vals(), true, "mbundle env -u").unwrap();
        assert!(unset.starts_with("unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\n"));
    }

    #[test]
    fn other_shells() {
        let fish = render(Shell::Fish, &vals(), false, "mbundle env web").unwrap();
        assert!(fish.contains("set -gx DOCKER_HOST \"tcp://1.2.3.4:2376\";\n"));
        assert!(fish.contains("# eval (mbundle env web)"));
        let ps = render(Shell::Powershell, &vals(), false, "mbundle env web").unwrap();
        assert!(ps.contains("$Env:DOCKER_HOST = \"tcp://1.2.3.4:2376\"\n"));
        assert!(render(Shell::Powershell, &vals(), true, "x")
            .unwrap()
            .contains("Remove-Item Env:\\DOCKER_HOST\n"));
        let cmd = render(Shell::Cmd, &vals(), false, "mbundle env web").unwrap();
        assert!(cmd.contains("SET DOCKER_CERT_PATH=/home/a/.docker/machine/machines/web\n"));
        assert!(cmd.contains("REM \t@FOR /f"));
        assert!(render(Shell::Tcsh, &vals(), false, "x")
            .unwrap()
            .contains("setenv DOCKER_HOST \"tcp://1.2.3.4:2376\";\n"));
    }

    #[test]
    fn each_shell_gets_values_it_reads_literally() {
        let v = vec![(
            "DOCKER_CERT_PATH",
            "/a b/it's $x `y` \"z\" & | ! \u{201D}".to_string(),
        )];
        let t = render(Shell::Tcsh, &v, false, "x").unwrap();
        assert!(
            t.contains("setenv DOCKER_CERT_PATH '/a b/it'\\''s $x `y` \"z\" & | \\! \u{201D}';"),
            "{t}"
        );
        let p = render(Shell::Powershell, &v, false, "x").unwrap();
        assert!(
            p.contains("= \"/a b/it's `$x ``y`` `\"z`\" & | ! `\u{201D}\""),
            "{p}"
        );
        let c = render(Shell::Cmd, &[("K", "C:\\a b&c".to_string())], false, "x").unwrap();
        assert!(c.starts_with("SET \"K=C:\\a b&c\"\n"), "{c}");
        for bad in ["100%", "a\"b", "a!b", "a^b"] {
            assert!(
                render(Shell::Cmd, &[("K", bad.to_string())], false, "x").is_err(),
                "{bad}"
            );
        }
        for sh in [
            Shell::Bash,
            Shell::Fish,
            Shell::Tcsh,
            Shell::Powershell,
            Shell::Cmd,
        ] {
            assert!(render(sh, &[("K", "a\nb".to_string())], false, "x").is_err());
        }
        // Globs and runs of spaces survive only the quoted eval: the hint says so.
        let g = render(
            Shell::Bash,
            &[("K", "/a*b".to_string())],
            false,
            "mbundle env w",
        )
        .unwrap();
        assert!(g.ends_with("# eval \"$(mbundle env w)\"\n"), "{g}");
        assert_eq!(Shell::Fish.word("it's \\ x").unwrap(), "'it\\'s \\\\ x'");
        assert_eq!(Shell::Powershell.word("it's").unwrap(), "'it''s'");
        assert_eq!(Shell::Bash.word("web").unwrap(), "web");
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        let v = vec![("DOCKER_CERT_PATH", "/tmp/a \"b\" $c".to_string())];
        assert!(render(Shell::Bash, &v, false, "x")
            .unwrap()
            .contains(r#"export DOCKER_CERT_PATH="/tmp/a \"b\" \$c""#));
    }
}
