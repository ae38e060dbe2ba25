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

/// One word for a POSIX shell command line: as it is when it holds only characters no
/// shell treats specially, else single-quoted.
pub fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

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

fn quote_powershell(v: &str) -> String {
    format!(
        "\"{}\"",
        v.replace('`', "``").replace('"', "`\"").replace('$', "`$")
    )
}

/// Renders the lines to set (or with `unset`, clear) the variables, then the usage hint
/// naming `invocation` (the command the user would `eval`).
pub fn render(shell: Shell, values: &[(&str, String)], unset: bool, invocation: &str) -> String {
    let mut out = String::new();
    for (k, v) in values {
        let line = match (shell, unset) {
            (Shell::Bash | Shell::Zsh, false) => format!("export {k}={}\n", quote_posix(v)),
            (Shell::Bash | Shell::Zsh, true) => format!("unset {k}\n"),
            (Shell::Fish, false) => format!("set -gx {k} {};\n", quote_fish(v)),
            (Shell::Fish, true) => format!("set -e {k};\n"),
            (Shell::Tcsh, false) => format!("setenv {k} {};\n", quote_posix(v)),
            (Shell::Tcsh, true) => format!("unsetenv {k};\n"),
            (Shell::Powershell, false) => format!("$Env:{k} = {}\n", quote_powershell(v)),
            (Shell::Powershell, true) => format!("Remove-Item Env:\\{k}\n"),
            (Shell::Cmd, false) => format!("SET {k}={v}\n"),
            (Shell::Cmd, true) => format!("SET {k}=\n"),
        };
        out.push_str(&line);
    }
    let hint = match shell {
        Shell::Bash | Shell::Zsh => format!("# Run this command to configure your shell: \n# eval $({invocation})\n"),
        Shell::Fish => format!("# Run this command to configure your shell: \n# eval ({invocation})\n"),
        Shell::Tcsh => format!("# Run this command to configure your shell: \n# eval `{invocation}`\n"),
        Shell::Powershell => format!("# Run this command to configure your shell: \n# & {invocation} | Invoke-Expression\n"),
        Shell::Cmd => format!(
            "REM Run this command to configure your shell: \nREM \t@FOR /f \"tokens=*\" %i IN ('{invocation}') DO @%i\n"
        ),
    };
    out.push_str(&hint);
    out
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
            render(Shell::Bash, &vals(), false, "mbundle env web"),
            "export DOCKER_TLS_VERIFY=\"1\"\n\
             export DOCKER_HOST=\"tcp://1.2.3.4:2376\"\n\
             export DOCKER_CERT_PATH=\"/home/a/.docker/machine/machines/web\"\n\
             export DOCKER_MACHINE_NAME=\"web\"\n\
             # Run this command to configure your shell: \n\
             # eval $(mbundle env web)\n"
        );
        let unset = render(Shell::Bash, &vals(), true, "mbundle env -u");
        assert!(unset.starts_with("unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\n"));
    }

    #[test]
    fn other_shells() {
        let fish = render(Shell::Fish, &vals(), false, "mbundle env web");
        assert!(fish.contains("set -gx DOCKER_HOST \"tcp://1.2.3.4:2376\";\n"));
        assert!(fish.contains("# eval (mbundle env web)"));
        let ps = render(Shell::Powershell, &vals(), false, "mbundle env web");
        assert!(ps.contains("$Env:DOCKER_HOST = \"tcp://1.2.3.4:2376\"\n"));
        assert!(render(Shell::Powershell, &vals(), true, "x")
            .contains("Remove-Item Env:\\DOCKER_HOST\n"));
        let cmd = render(Shell::Cmd, &vals(), false, "mbundle env web");
        assert!(cmd.contains("SET DOCKER_CERT_PATH=/home/a/.docker/machine/machines/web\n"));
        assert!(cmd.contains("REM \t@FOR /f"));
        assert!(render(Shell::Tcsh, &vals(), false, "x")
            .contains("setenv DOCKER_HOST \"tcp://1.2.3.4:2376\";\n"));
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        let v = vec![("DOCKER_CERT_PATH", "/tmp/a \"b\" $c".to_string())];
        assert!(render(Shell::Bash, &v, false, "x")
            .contains(r#"export DOCKER_CERT_PATH="/tmp/a \"b\" \$c""#));
    }
}
