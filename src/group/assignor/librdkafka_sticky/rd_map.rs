//! librdkafka's `rd_map` iteration order, which decides outcomes in its sticky assignor.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// A map that iterates as librdkafka's `rd_map`: the newest key first. Replacing a value
/// keeps its key's place; removing a key keeps the others' order.
#[derive(Debug, Clone)]
pub(super) struct RdMap<K, V> {
    slots: Vec<Option<(K, V)>>,
    index: HashMap<K, usize>,
}

impl<K: Eq + Hash + Clone, V> RdMap<K, V> {
    pub(super) fn new() -> Self {
        RdMap {
            slots: Vec::new(),
            index: HashMap::new(),
        }
    }

    pub(super) fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let &i = self.index.get(key)?;
        self.slots[i].as_ref().map(|(_, v)| v)
    }

    pub(super) fn get_mut<Q: Eq + Hash + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let &i = self.index.get(key)?;
        self.slots[i].as_mut().map(|(_, v)| v)
    }

    pub(super) fn contains_key<Q: Eq + Hash + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.index.contains_key(key)
    }

    /// `RD_MAP_SET`.
    pub(super) fn set(&mut self, key: K, value: V) {
        match self.index.get(&key) {
            Some(&i) => self.slots[i] = Some((key, value)),
            None => {
                self.index.insert(key.clone(), self.slots.len());
                self.slots.push(Some((key, value)));
            }
        }
    }

    /// `RD_MAP_GET_OR_SET`.
    pub(super) fn get_or_insert_with(&mut self, key: K, value: impl FnOnce() -> V) -> &mut V {
        if !self.index.contains_key(&key) {
            self.set(key.clone(), value());
        }
        self.get_mut(&key).expect("just set")
    }

    pub(super) fn remove<Q: Eq + Hash + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.index.remove(key)?;
        self.slots[i].take().map(|(_, v)| v)
    }

    /// `RD_MAP_FOREACH`: the newest key first.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.slots.iter().rev().flatten().map(|(k, v)| (k, v))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.slots.iter_mut().rev().flatten().map(|(k, v)| (&*k, v))
    }
}
