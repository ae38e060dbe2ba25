//! Hints that name things: the machines a store or a bundle has (at most [`HINT_NAMES`], the
//! nearest to a typo first), and byte counts for people.

/// The hint of [`Error::UnknownMachine`]: the names this store has, the nearest first.
pub(super) fn unknown_machine_hint(names: &[String], known: &[String]) -> String {
    if names.len() == 1 && names[0] == "default" && !known.is_empty() {
        return format!(
            "\"default\" is the machine a command uses when none is named, as in docker-machine; {}",
            names_hint("name one of", known, &[], "mbundle ls")
        );
    }
    if known.is_empty() {
        return "this store has no machines; is -s pointing at the right store?".into();
    }
    names_hint("machines in this store", known, names, "mbundle ls")
}

/// The most names a hint lists; the rest are counted ("... and 290 more").
pub const HINT_NAMES: usize = 10;

/// The names a hint offers when one asked for is not there: the nearest to each asked name
/// when one is close (a typo: `wbe` -> `web`), then at most [`HINT_NAMES`] of `known`, and how
/// many more there are and where to see them all (`see_all`, e.g. "mbundle ls").
pub fn names_hint(what: &str, known: &[String], asked: &[String], see_all: &str) -> String {
    let mut out = String::new();
    // For each name asked for, the known names closest to it (all of them at that distance,
    // at most three: `runner-0l23` is as near `runner-0123` as `runner-0023`).
    let mut near: Vec<&str> = Vec::new();
    for a in asked {
        let scored: Vec<(usize, &str)> = known
            .iter()
            .map(|k| (strsim::damerau_levenshtein(a, k), k.as_str()))
            .filter(|(d, k)| *d > 0 && *d <= (k.chars().count() / 3).max(2))
            .collect();
        if let Some(best) = scored.iter().map(|(d, _)| *d).min() {
            let closest = scored.iter().filter(|(d, _)| *d == best).map(|(_, k)| *k);
            for k in closest.take(3) {
                // Two names asked for may share their nearest: said once.
                if !near.contains(&k) {
                    near.push(k);
                }
            }
        }
    }
    if !near.is_empty() {
        out.push_str(&format!("did you mean {}? ", near.join(" or ")));
    }
    if known.is_empty() {
        out.push_str(&format!("{what}: none"));
        return out;
    }
    let shown: Vec<&str> = known.iter().take(HINT_NAMES).map(String::as_str).collect();
    out.push_str(&format!("{what}: {}", shown.join(", ")));
    if known.len() > HINT_NAMES {
        out.push_str(&format!(
            " ... and {} more: see {see_all}",
            known.len() - HINT_NAMES
        ));
    }
    out
}

/// A byte count for people: 1.5 GiB.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_hints_are_short_and_say_each_near_name_once() {
        let known: Vec<String> = (0..300).map(|i| format!("runner-{i:04}")).collect();
        let asked = vec!["runner-01000".to_string(), "runner-01000".to_string()];
        let hint = names_hint("machines", &known, &asked, "mbundle ls");
        let near = hint.split('?').next().unwrap();
        assert_eq!(near.matches("runner-0100").count(), 1, "{hint}");
        assert!(hint.ends_with("... and 290 more: see mbundle ls"), "{hint}");
        assert_eq!(names_hint("machines", &[], &asked, "x"), "machines: none");
    }
}
