//! "Did you mean": the closest known key to a misspelt one.

/// The candidate nearest to `key` by edit distance, if it is close enough to be a likely typo.
pub fn nearest<'a>(key: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let (best, distance) = candidates
        .map(|c| (c, edit_distance(key, c)))
        .min_by_key(|&(_, d)| d)?;
    (distance <= key.len().max(3) / 3 + 1).then(|| best.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_ignores_strangers() {
        let keys = ["segment.bytes", "segment.ms", "retention.ms"];
        assert_eq!(
            nearest("segmnt.bytes", keys.into_iter()).as_deref(),
            Some("segment.bytes")
        );
        assert_eq!(nearest("completely.else", keys.into_iter()), None);
    }
}
