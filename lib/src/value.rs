//! The engine's JSON value: serde_json's data model and serialisation, with
//! tables kept compact.
//!
//! Settings, requirements, the effective values and their reports are all
//! JSON values. A policy of thousands of command rules holds thousands of
//! two-key tables (`{ pattern = [...], decision = "allow" }`); as
//! [`serde_json::Map`], each is a `BTreeMap` leaf of eleven slots (632
//! bytes) whatever its size. [`Map`] keeps a small table as a sorted vector
//! of exactly its entries, and switches to a `BTreeMap` once it grows past
//! [`Map::SMALL`] entries, so no operation is worse than logarithmic.
//!
//! Everything else is serde_json's: the variants of [`Value`], [`Number`],
//! keys in sorted order, and the same bytes when serialised (`Serialize`
//! makes the same calls as `serde_json::Value`'s), so JSON written from
//! either is identical. [`From`] converts between the two where a library
//! (JSON Schema validation, a typed `Deserialize`) needs serde_json's.
//! [`json!`](crate::json!) builds a value from JSON syntax.

use std::collections::{BTreeMap, btree_map};
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

pub use serde_json::Number;

/// A JSON value, as [`serde_json::Value`] (same variants, same order of
/// keys, same serialisation), with compact tables ([`Map`]).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub enum Value {
    /// `null` (an absent value in a few places).
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json keeps it.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// A table, its keys sorted.
    Object(Map),
}

/// Builds a [`Value`] from JSON syntax, as `serde_json::json!` does (the
/// same syntax, interpolations included).
#[macro_export]
macro_rules! json {
    ($($json:tt)+) => {
        $crate::value::Value::from(::serde_json::json!($($json)+))
    };
}

impl Value {
    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, when this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number as an `i64`, when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The number as a `u64`, when it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The number as an `f64`, when this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The elements, when this is an array.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, to change, when this is an array.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The table, when this is one.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The table, to change, when this is one.
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is a boolean.
    pub fn is_boolean(&self) -> bool {
        matches!(self, Value::Bool(_))
    }

    /// Whether this is a number.
    pub fn is_number(&self) -> bool {
        matches!(self, Value::Number(_))
    }

    /// Whether this is a string.
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        matches!(self, Value::Array(_))
    }

    /// Whether this is a table.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// Whether this is an integer that fits an `i64`.
    pub fn is_i64(&self) -> bool {
        matches!(self, Value::Number(n) if n.is_i64())
    }

    /// Whether this is an integer that fits a `u64`.
    pub fn is_u64(&self) -> bool {
        matches!(self, Value::Number(n) if n.is_u64())
    }

    /// A table's member or an array's element, when there is one.
    pub fn get<I: Index>(&self, index: I) -> Option<&Value> {
        index.index_into(self)
    }

    /// [`Value::get`], to change.
    pub fn get_mut<I: Index>(&mut self, index: I) -> Option<&mut Value> {
        index.index_into_mut(self)
    }

    /// The value, leaving `null` in its place.
    pub fn take(&mut self) -> Value {
        std::mem::take(self)
    }

    /// The value at a JSON Pointer (RFC 6901), as serde_json's `pointer`.
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .try_fold(self, |v, token| match v {
                Value::Object(m) => m.get(&token),
                Value::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            })
    }
}

/// What [`Value::get`] takes: a key (`&str`, `String`) or a position.
pub trait Index {
    /// The member or element of `v` this names.
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value>;
    /// [`Index::index_into`], to change.
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value>;
    /// The member or element, made (`null`) when missing, for `v[i] = x`.
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value;
}

impl Index for usize {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_array()?.get(*self)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        v.as_array_mut()?.get_mut(*self)
    }
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value {
        if !v.is_array() {
            *v = Value::Array(Vec::new());
        }
        match v {
            Value::Array(a) => {
                if a.len() <= *self {
                    a.resize(*self + 1, Value::Null);
                }
                &mut a[*self]
            }
            other => other,
        }
    }
}

impl Index for str {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        v.as_object()?.get(self)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        v.as_object_mut()?.get_mut(self)
    }
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value {
        if !v.is_object() {
            *v = Value::Object(Map::new());
        }
        match v {
            Value::Object(m) => m.entry(self).or_insert(Value::Null),
            other => other,
        }
    }
}

impl Index for String {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        self.as_str().index_into(v)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        self.as_str().index_into_mut(v)
    }
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value {
        self.as_str().index_or_insert(v)
    }
}

impl<T: Index + ?Sized> Index for &T {
    fn index_into<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        (**self).index_into(v)
    }
    fn index_into_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        (**self).index_into_mut(v)
    }
    fn index_or_insert<'v>(&self, v: &'v mut Value) -> &'v mut Value {
        (**self).index_or_insert(v)
    }
}

static NULL: Value = Value::Null;

impl<I: Index> std::ops::Index<I> for Value {
    type Output = Value;

    /// The member or element, or `null` when there is none (as serde_json).
    fn index(&self, index: I) -> &Value {
        index.index_into(self).unwrap_or(&NULL)
    }
}

impl<I: Index> std::ops::IndexMut<I> for Value {
    /// The member or element, made `null` when missing. Where serde_json
    /// panics (a key into a non-table, a position into a non-array or past
    /// its end), this makes the value a table or array, or pads the array
    /// with `null`s: it never panics.
    fn index_mut(&mut self, index: I) -> &mut Value {
        index.index_or_insert(self)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Number(n) => write!(f, "Number({n})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Array(a) => {
                f.write_str("Array ")?;
                f.debug_list().entries(a).finish()
            }
            Value::Object(m) => {
                f.write_str("Object ")?;
                fmt::Debug::fmt(m, f)
            }
        }
    }
}

/// JSON text: compact, or pretty with `{:#}` (as serde_json's).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = if f.alternate() {
            serde_json::to_string_pretty(self)
        } else {
            serde_json::to_string(self)
        };
        f.write_str(&text.map_err(|_| fmt::Error)?)
    }
}

macro_rules! from_number {
    ($($t:ty)*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Number(Number::from(n))
            }
        }
    )*};
}

from_number!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize);

impl From<f64> for Value {
    /// A finite number; `null` for NaN and the infinities (as serde_json).
    fn from(f: f64) -> Value {
        Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Value {
        Value::Number(n)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Object(m)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::Array(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Value {
        o.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> FromIterator<T> for Value {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Value {
        Value::Array(iter.into_iter().map(Into::into).collect())
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(a) => Value::Array(a.into_iter().map(Value::from).collect()),
            serde_json::Value::Object(m) => {
                Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<Value> for serde_json::Value {
    fn from(v: Value) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => serde_json::Value::Number(n),
            Value::String(s) => serde_json::Value::String(s),
            Value::Array(a) => {
                serde_json::Value::Array(a.into_iter().map(serde_json::Value::from).collect())
            }
            Value::Object(m) => serde_json::Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, serde_json::Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&Value> for serde_json::Value {
    /// A copy in serde_json's type (for a JSON Schema validator: rare, and
    /// never on the path of a valid value).
    fn from(v: &Value) -> serde_json::Value {
        serde_json::Value::from(v.clone())
    }
}

impl PartialEq<serde_json::Value> for Value {
    fn eq(&self, other: &serde_json::Value) -> bool {
        match (self, other) {
            (Value::Null, serde_json::Value::Null) => true,
            (Value::Bool(a), serde_json::Value::Bool(b)) => a == b,
            (Value::Number(a), serde_json::Value::Number(b)) => a == b,
            (Value::String(a), serde_json::Value::String(b)) => a == b,
            (Value::Array(a), serde_json::Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
            }
            (Value::Object(a), serde_json::Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va == vb)
            }
            _ => false,
        }
    }
}

impl PartialEq<Value> for serde_json::Value {
    fn eq(&self, other: &Value) -> bool {
        other == self
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<String> for Value {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == Some(other.as_str())
    }
}

/// A boolean or a number equals the same `bool` or number (as serde_json's).
macro_rules! eq_scalar {
    ($($t:ty => $as:ident as $wide:ty)*) => {$(
        impl PartialEq<$t> for Value {
            fn eq(&self, other: &$t) -> bool {
                self.$as() == Some(<$wide>::from(*other))
            }
        }

        impl PartialEq<$t> for &Value {
            fn eq(&self, other: &$t) -> bool {
                (**self).eq(other)
            }
        }
    )*};
}

eq_scalar!(
    bool => as_bool as bool
    i8 => as_i64 as i64
    i16 => as_i64 as i64
    i32 => as_i64 as i64
    i64 => as_i64 as i64
    u8 => as_u64 as u64
    u16 => as_u64 as u64
    u32 => as_u64 as u64
    u64 => as_u64 as u64
    f32 => as_f64 as f64
    f64 => as_f64 as f64
);

impl Serialize for Value {
    /// The calls `serde_json::Value` makes, so that every writer writes the
    /// same bytes for both.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(a) => a.serialize(serializer),
            Value::Object(m) => m.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::from(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::from(u))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::from(f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Deserialize::deserialize(d)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some((k, v)) = access.next_entry::<String, Value>()? {
            map.insert(k, v);
        }
        Ok(Value::Object(map))
    }
}

/// A JSON table: its entries sorted by key, as [`serde_json::Map`] keeps
/// them, in a vector of exactly its entries while it has at most
/// [`Map::SMALL`] of them and in a `BTreeMap` after that.
#[derive(Clone, Default)]
pub struct Map {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// Sorted by key, no key twice, at most [`Map::SMALL`] entries.
    Small(Vec<(String, Value)>),
    /// Boxed so that a `Map`, and so a `Value`, stays three words: the
    /// vector's capacity holds the variant.
    #[allow(clippy::box_collection)]
    Large(Box<BTreeMap<String, Value>>),
}

impl Default for Repr {
    fn default() -> Repr {
        Repr::Small(Vec::new())
    }
}

impl Map {
    /// The most entries a table keeps in a vector. Above it, an insertion
    /// would move too many entries, and a `BTreeMap` takes over.
    pub const SMALL: usize = 8;

    /// An empty table (no allocation).
    pub const fn new() -> Map {
        Map {
            repr: Repr::Small(Vec::new()),
        }
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Large(m) => m.len(),
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn find(v: &[(String, Value)], key: &str) -> Result<usize, usize> {
        v.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.repr {
            Repr::Small(v) => Map::find(v, key).ok().map(|i| &v[i].1),
            Repr::Large(m) => m.get(key),
        }
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match &mut self.repr {
            Repr::Small(v) => match Map::find(v, key) {
                Ok(i) => Some(&mut v[i].1),
                Err(_) => None,
            },
            Repr::Large(m) => m.get_mut(key),
        }
    }

    /// The stored key and the value of `key`.
    pub fn get_key_value(&self, key: &str) -> Option<(&String, &Value)> {
        match &self.repr {
            Repr::Small(v) => Map::find(v, key).ok().map(|i| (&v[i].0, &v[i].1)),
            Repr::Large(m) => m.get_key_value(key),
        }
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: Value) -> Option<Value> {
        match self.entry(key) {
            Entry::Occupied(mut o) => Some(o.insert(value)),
            Entry::Vacant(v) => {
                v.insert(value);
                None
            }
        }
    }

    /// Takes `key` out; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        match &mut self.repr {
            Repr::Small(v) => Map::find(v, key).ok().map(|i| v.remove(i).1),
            Repr::Large(m) => m.remove(key),
        }
    }

    /// The entry of `key`, to read, insert or change in place.
    pub fn entry(&mut self, key: impl Into<String>) -> Entry<'_> {
        let key = key.into();
        if let Repr::Small(small) = &mut self.repr
            && small.len() >= Map::SMALL
            && Map::find(small, &key).is_err()
        {
            // A table outgrowing the vector becomes a `BTreeMap`.
            let large: BTreeMap<String, Value> = std::mem::take(small).into_iter().collect();
            self.repr = Repr::Large(Box::new(large));
        }
        match &mut self.repr {
            Repr::Small(vec) => match Map::find(vec, &key) {
                Ok(i) => Entry::Occupied(OccupiedEntry {
                    value: &mut vec[i].1,
                }),
                Err(at) => Entry::Vacant(VacantEntry {
                    inner: VacantInner::Small { vec, at, key },
                }),
            },
            Repr::Large(m) => match m.entry(key) {
                btree_map::Entry::Vacant(e) => Entry::Vacant(VacantEntry {
                    inner: VacantInner::Large(e),
                }),
                btree_map::Entry::Occupied(e) => Entry::Occupied(OccupiedEntry {
                    value: e.into_mut(),
                }),
            },
        }
    }

    /// Keeps only the entries `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        match &mut self.repr {
            Repr::Small(v) => v.retain_mut(|(k, v)| keep(k, v)),
            Repr::Large(m) => m.retain(|k, v| keep(k, v)),
        }
    }

    /// Moves every entry of `other` into this table (replacing on equal keys).
    pub fn append(&mut self, other: &mut Map) {
        for (k, v) in std::mem::take(other) {
            self.insert(k, v);
        }
    }

    /// The entries, by key.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: match &self.repr {
                Repr::Small(v) => IterInner::Small(v.iter()),
                Repr::Large(m) => IterInner::Large(m.iter()),
            },
        }
    }

    /// The entries, by key, their values to change.
    pub fn iter_mut(&mut self) -> IterMut<'_> {
        IterMut {
            inner: match &mut self.repr {
                Repr::Small(v) => IterMutInner::Small(v.iter_mut()),
                Repr::Large(m) => IterMutInner::Large(m.iter_mut()),
            },
        }
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.iter().map(|(k, _)| k)
    }

    /// The values, by key.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.iter().map(|(_, v)| v)
    }

    /// The values, by key, to change.
    pub fn values_mut(
        &mut self,
    ) -> impl DoubleEndedIterator<Item = &mut Value> + ExactSizeIterator {
        self.iter_mut().map(|(_, v)| v)
    }
}

/// A key's place in a [`Map`] (see [`Map::entry`]).
pub enum Entry<'m> {
    /// The key has no value.
    Vacant(VacantEntry<'m>),
    /// The key has a value.
    Occupied(OccupiedEntry<'m>),
}

/// A key without a value, to insert one.
pub struct VacantEntry<'m> {
    inner: VacantInner<'m>,
}

enum VacantInner<'m> {
    Small {
        vec: &'m mut Vec<(String, Value)>,
        at: usize,
        key: String,
    },
    Large(btree_map::VacantEntry<'m, String, Value>),
}

/// A key's value, to change.
pub struct OccupiedEntry<'m> {
    value: &'m mut Value,
}

impl<'m> VacantEntry<'m> {
    /// Gives the key its value.
    pub fn insert(self, value: Value) -> &'m mut Value {
        match self.inner {
            VacantInner::Small { vec, at, key } => {
                // Exactly the entries: a two-key table takes two slots.
                vec.reserve_exact(1);
                vec.insert(at, (key, value));
                &mut vec[at].1
            }
            VacantInner::Large(e) => e.insert(value),
        }
    }
}

impl<'m> OccupiedEntry<'m> {
    /// The value.
    pub fn get(&self) -> &Value {
        self.value
    }

    /// The value, to change.
    pub fn get_mut(&mut self) -> &mut Value {
        self.value
    }

    /// The value, to change, for as long as the table is borrowed.
    pub fn into_mut(self) -> &'m mut Value {
        self.value
    }

    /// Replaces the value; returns the old one.
    pub fn insert(&mut self, value: Value) -> Value {
        std::mem::replace(self.value, value)
    }
}

impl<'m> Entry<'m> {
    /// The value, inserting `default` first when there is none.
    pub fn or_insert(self, default: Value) -> &'m mut Value {
        self.or_insert_with(|| default)
    }

    /// The value, inserting what `default` makes first when there is none.
    pub fn or_insert_with(self, default: impl FnOnce() -> Value) -> &'m mut Value {
        match self {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(default()),
        }
    }
}

/// The entries of a [`Map`], by key.
pub struct Iter<'m> {
    inner: IterInner<'m>,
}

enum IterInner<'m> {
    Small(std::slice::Iter<'m, (String, Value)>),
    Large(btree_map::Iter<'m, String, Value>),
}

/// The entries of a [`Map`], by key, their values to change.
pub struct IterMut<'m> {
    inner: IterMutInner<'m>,
}

enum IterMutInner<'m> {
    Small(std::slice::IterMut<'m, (String, Value)>),
    Large(btree_map::IterMut<'m, String, Value>),
}

/// The entries of a [`Map`], by key, taken out of it.
pub struct IntoIter {
    inner: IntoIterInner,
}

enum IntoIterInner {
    Small(std::vec::IntoIter<(String, Value)>),
    Large(btree_map::IntoIter<String, Value>),
}

/// `Iterator`, `DoubleEndedIterator` and `ExactSizeIterator` for one of
/// [`Map`]'s iterators: its `inner` is the vector's iterator (`Small`, its
/// items made into the `BTreeMap`'s shape by `$small`) or the `BTreeMap`'s.
macro_rules! entries_iterator {
    ([$($lt:lifetime)?] $name:ty, $inner:ident, $item:ty, $small:expr) => {
        impl<$($lt)?> Iterator for $name {
            type Item = $item;

            fn next(&mut self) -> Option<$item> {
                match &mut self.inner {
                    $inner::Small(i) => i.next().map($small),
                    $inner::Large(i) => i.next(),
                }
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                match &self.inner {
                    $inner::Small(i) => i.size_hint(),
                    $inner::Large(i) => i.size_hint(),
                }
            }
        }

        impl<$($lt)?> DoubleEndedIterator for $name {
            fn next_back(&mut self) -> Option<$item> {
                match &mut self.inner {
                    $inner::Small(i) => i.next_back().map($small),
                    $inner::Large(i) => i.next_back(),
                }
            }
        }

        impl<$($lt)?> ExactSizeIterator for $name {}
    };
}

entries_iterator!(['m] Iter<'m>, IterInner, (&'m String, &'m Value), |(k, v)| (k, v));
entries_iterator!(['m] IterMut<'m>, IterMutInner, (&'m String, &'m mut Value), |(k, v)| (&*k, v));
entries_iterator!([] IntoIter, IntoIterInner, (String, Value), |entry| entry);

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter {
            inner: match self.repr {
                Repr::Small(v) => IntoIterInner::Small(v.into_iter()),
                Repr::Large(m) => IntoIterInner::Large(m.into_iter()),
            },
        }
    }
}

impl<'m> IntoIterator for &'m Map {
    type Item = (&'m String, &'m Value);
    type IntoIter = Iter<'m>;

    fn into_iter(self) -> Iter<'m> {
        self.iter()
    }
}

impl<'m> IntoIterator for &'m mut Map {
    type Item = (&'m String, &'m mut Value);
    type IntoIter = IterMut<'m>;

    fn into_iter(self) -> IterMut<'m> {
        self.iter_mut()
    }
}

impl FromIterator<(String, Value)> for Map {
    /// A table of the entries; of two equal keys the later wins. Built by
    /// sorting once, not by inserting one by one.
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        let mut entries: Vec<(String, Value)> = iter.into_iter().collect();
        if entries.len() > Map::SMALL {
            return Map {
                repr: Repr::Large(Box::new(entries.into_iter().collect())),
            };
        }
        // A stable sort keeps equal keys in order; the last of each run wins.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut small: Vec<(String, Value)> = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            match small.last_mut() {
                Some(last) if last.0 == k => last.1 = v,
                _ => small.push((k, v)),
            }
        }
        small.shrink_to_fit();
        Map {
            repr: Repr::Small(small),
        }
    }
}

impl Extend<(String, Value)> for Map {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Map {}

impl std::hash::Hash for Map {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for (k, v) in self {
            k.hash(state);
            v.hash(state);
        }
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Map {
    type Output = Value;

    /// The value of `key`, or `null` when there is none (where
    /// serde_json's `Map` panics).
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Map {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Map, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Object(m) => Ok(m),
            other => Err(de::Error::invalid_type(
                de::Unexpected::Other(match other {
                    Value::Array(_) => "an array",
                    Value::String(_) => "a string",
                    Value::Number(_) => "a number",
                    Value::Bool(_) => "a boolean",
                    _ => "null",
                }),
                &"a table",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_as_large_as_serde_jsons() {
        assert_eq!(size_of::<Value>(), size_of::<serde_json::Value>());
        assert_eq!(size_of::<Map>(), 24);
    }

    #[test]
    fn small_and_large_tables_answer_alike() {
        for n in [0, 1, 2, Map::SMALL, Map::SMALL + 1, 100] {
            let mut m = Map::new();
            let mut reference = serde_json::Map::new();
            // Inserted out of order, each key twice.
            for round in 0..2 {
                for i in (0..n).rev().chain(0..n) {
                    let k = format!("k{:03}", (i * 7919) % n.max(1));
                    m.insert(k.clone(), Value::from(i + round));
                    reference.insert(k, serde_json::Value::from(i + round));
                }
            }
            assert_eq!(m.len(), reference.len());
            assert_eq!(
                Value::Object(m.clone()),
                serde_json::Value::Object(reference.clone())
            );
            assert_eq!(
                serde_json::to_string(&m).ok(),
                serde_json::to_string(&reference).ok()
            );
            for (k, v) in &reference {
                assert_eq!(m.get(k), Some(&Value::from(v.clone())));
                assert_eq!(m.remove(k), Some(Value::from(v.clone())));
            }
            assert!(m.is_empty());
        }
    }

    /// One operation on a table, applied to a [`Map`] and to serde_json's.
    #[derive(Clone, Debug)]
    enum Op {
        Insert(String, i64),
        Remove(String),
        Entry(String, i64),
        Retain(u8),
        Append(Vec<(String, i64)>),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        // Few enough keys that they repeat; enough to cross `SMALL`.
        let key = "[a-p]{1,2}";
        prop_oneof![
            4 => (key, any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => key.prop_map(Op::Remove),
            2 => (key, any::<i64>()).prop_map(|(k, v)| Op::Entry(k, v)),
            1 => any::<u8>().prop_map(Op::Retain),
            1 => proptest::collection::vec((key, any::<i64>()), 0..12).prop_map(Op::Append),
        ]
    }

    proptest::proptest! {
        /// Any sequence of changes leaves a [`Map`] equal to a
        /// `serde_json::Map` given the same changes: the same answers, the
        /// same entries in the same order, the same bytes, whether it is
        /// still a vector or has become a `BTreeMap`.
        #[test]
        fn a_table_answers_as_serde_jsons(ops in proptest::collection::vec(op(), 0..80)) {
            let mut ours = Map::new();
            let mut theirs = serde_json::Map::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let a = ours.insert(k.clone(), Value::from(v));
                        let b = theirs.insert(k, serde_json::Value::from(v));
                        proptest::prop_assert_eq!(a.map(serde_json::Value::from), b);
                    }
                    Op::Remove(k) => {
                        let a = ours.remove(&k);
                        let b = theirs.remove(&k);
                        proptest::prop_assert_eq!(a.map(serde_json::Value::from), b);
                    }
                    Op::Entry(k, v) => {
                        let a = ours.entry(k.clone()).or_insert(Value::from(v)).clone();
                        let b = theirs.entry(k).or_insert(serde_json::Value::from(v)).clone();
                        proptest::prop_assert_eq!(serde_json::Value::from(a), b);
                    }
                    Op::Retain(m) => {
                        let keep = |v: i64| v.rem_euclid(i64::from(m).max(1)) != 0;
                        ours.retain(|_, v| v.as_i64().is_some_and(keep));
                        theirs.retain(|_, v| v.as_i64().is_some_and(keep));
                    }
                    Op::Append(entries) => {
                        let mut more: Map = entries
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::from(*v)))
                            .collect();
                        ours.append(&mut more);
                        proptest::prop_assert!(more.is_empty());
                        let mut more: serde_json::Map<String, serde_json::Value> = entries
                            .into_iter()
                            .map(|(k, v)| (k, serde_json::Value::from(v)))
                            .collect();
                        theirs.append(&mut more);
                    }
                }
                proptest::prop_assert_eq!(ours.len(), theirs.len());
                proptest::prop_assert!(ours.keys().eq(theirs.keys()));
                proptest::prop_assert!(ours.keys().rev().eq(theirs.keys().rev()));
                for (k, v) in &theirs {
                    proptest::prop_assert_eq!(ours.get(k).map(serde_json::Value::from), Some(v.clone()));
                }
            }
            let text = serde_json::to_string(&theirs).unwrap_or_default();
            proptest::prop_assert_eq!(serde_json::to_string(&ours).unwrap_or_default(), text.clone());
            let back: Value = serde_json::from_str(&text).unwrap_or_default();
            proptest::prop_assert_eq!(back, Value::Object(ours));
        }
    }

    #[test]
    fn from_iter_keeps_the_last_of_equal_keys() {
        let m: Map = [("b", 1), ("a", 2), ("b", 3)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect();
        assert_eq!(Value::Object(m), serde_json::json!({"a": 2, "b": 3}));
    }

    #[test]
    fn serde_json_round_trips_and_writes_the_same_bytes() {
        let text = r#"{"z":[1,-2,3.5,null,true,"s\"",{"b":{},"a":[]}],"a":{"k":"v"},"m":18446744073709551615}"#;
        let ours: Value = serde_json::from_str(text).unwrap_or_default();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        assert_eq!(ours, theirs);
        assert_eq!(ours.to_string(), theirs.to_string());
        assert_eq!(format!("{ours:#}"), format!("{theirs:#}"));
        assert_eq!(Value::from(theirs.clone()), ours);
        assert_eq!(serde_json::Value::from(ours.clone()), theirs);
        assert_eq!(ours["a"]["k"], "v");
        assert_eq!(ours.pointer("/z/6/b"), Some(&Value::Object(Map::new())));
        assert!(ours["nothing"].is_null());
    }
}
