//! JSON output: byte for byte what `serde_json` writes, with less work per
//! token.
//!
//! [`to_writer_pretty`] writes exactly what `serde_json::to_writer_pretty`
//! writes (two spaces of indent, `": "` between a key and its value, `[]` and
//! `{}` for empty containers); [`to_writer`] exactly what
//! `serde_json::to_writer` writes (no whitespace at all). Strings are escaped
//! the way `serde_json` escapes them: `"` and `\` with a backslash, `\b \f \n
//! \r \t` by name, every other byte below `0x20` as `\u00XX` (lowercase hex),
//! and everything else, non-ASCII and DEL included, as is.
//!
//! What makes it cheaper:
//!
//! - the output is gathered in a buffer and handed to the writer in blocks of
//!   about [`BLOCK`] bytes, so a token is an append, not a call into the
//!   writer;
//! - a string is checked eight bytes at a time and copied whole when nothing
//!   in it needs escaping;
//! - integers are formatted in place.
//!
//! Floats are formatted by `serde_json` itself, so they are its shortest
//! round-trip form by construction (and non-finite floats are `null`, as
//! there). Map keys that are not strings follow `serde_json` too: integers,
//! booleans and finite floats become quoted strings, anything else is an
//! error. `serde_json::value::RawValue` is written verbatim.
//!
//! ```
//! let value = serde_json::json!({"a": [1, "two\n"], "b": {}});
//! let pretty = mandate::json::to_vec_pretty(&value)?;
//! assert_eq!(pretty, serde_json::to_vec_pretty(&value)?);
//! let compact = mandate::json::to_vec(&value)?;
//! assert_eq!(compact, br#"{"a":[1,"two\n"],"b":{}}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::{self, Display};
use std::io;

use serde::ser::{self, Impossible, Serialize};

/// The size of the blocks handed to the writer: the buffer is passed on when
/// it holds at least this much, between two values.
pub const BLOCK: usize = 64 * 1024;

/// Why a value could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The writer failed (a closed pipe, a full disk).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The value has no JSON form (a map key that is not a string, number or
    /// boolean; a non-finite float as a key), or its own `Serialize` failed.
    #[error("{0}")]
    Message(String),
}

impl Error {
    /// Whether the writer failed, rather than the value.
    pub fn is_io(&self) -> bool {
        matches!(self, Error::Io(_))
    }
}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Message(msg.to_string())
    }
}

/// Writes `value` as compact JSON (no whitespace) to `writer`: the bytes of
/// `serde_json::to_writer`. On an error, what was produced before it has
/// been written, as with `serde_json`.
pub fn to_writer<W: io::Write, T: Serialize + ?Sized>(writer: W, value: &T) -> Result<(), Error> {
    write(writer, Compact, value)
}

/// Writes `value` as pretty JSON (two-space indent) to `writer`: the bytes
/// of `serde_json::to_writer_pretty`, without a final newline. On an error,
/// what was produced before it has been written, as with `serde_json`.
pub fn to_writer_pretty<W: io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> Result<(), Error> {
    write(writer, Pretty::default(), value)
}

/// `value` as compact JSON: the bytes of `serde_json::to_vec`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    to_writer(&mut out, value)?;
    Ok(out)
}

/// `value` as pretty JSON: the bytes of `serde_json::to_vec_pretty`.
pub fn to_vec_pretty<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    to_writer_pretty(&mut out, value)?;
    Ok(out)
}

fn write<W: io::Write, F: Format, T: Serialize + ?Sized>(
    writer: W,
    format: F,
    value: &T,
) -> Result<(), Error> {
    let mut ser = Serializer {
        // Grows to a block and a little more for a long value; stays small
        // for a short one.
        out: Vec::with_capacity(4096),
        writer,
        format,
    };
    let result = value.serialize(&mut ser);
    // What came before an error is written too, as `serde_json` (writing
    // straight into the writer) would have.
    let written = ser.writer.write_all(&ser.out);
    result?;
    Ok(written?)
}

/// The whitespace between tokens: what sets pretty and compact apart
/// (`serde_json`'s `Formatter`, for the events this writer has).
trait Format {
    fn begin_array(&mut self, out: &mut Vec<u8>);
    fn end_array(&mut self, out: &mut Vec<u8>);
    fn begin_array_value(&mut self, out: &mut Vec<u8>, first: bool);
    fn end_array_value(&mut self);
    fn begin_object(&mut self, out: &mut Vec<u8>);
    fn end_object(&mut self, out: &mut Vec<u8>);
    fn begin_object_key(&mut self, out: &mut Vec<u8>, first: bool);
    fn begin_object_value(&mut self, out: &mut Vec<u8>);
    fn end_object_value(&mut self);
}

/// No whitespace.
struct Compact;

impl Format for Compact {
    #[inline]
    fn begin_array(&mut self, out: &mut Vec<u8>) {
        out.push(b'[');
    }
    #[inline]
    fn end_array(&mut self, out: &mut Vec<u8>) {
        out.push(b']');
    }
    #[inline]
    fn begin_array_value(&mut self, out: &mut Vec<u8>, first: bool) {
        if !first {
            out.push(b',');
        }
    }
    #[inline]
    fn end_array_value(&mut self) {}
    #[inline]
    fn begin_object(&mut self, out: &mut Vec<u8>) {
        out.push(b'{');
    }
    #[inline]
    fn end_object(&mut self, out: &mut Vec<u8>) {
        out.push(b'}');
    }
    #[inline]
    fn begin_object_key(&mut self, out: &mut Vec<u8>, first: bool) {
        if !first {
            out.push(b',');
        }
    }
    #[inline]
    fn begin_object_value(&mut self, out: &mut Vec<u8>) {
        out.push(b':');
    }
    #[inline]
    fn end_object_value(&mut self) {}
}

/// A newline and two spaces per level before every element and key, and
/// before the closing bracket of a container that has any.
#[derive(Default)]
struct Pretty {
    /// How many containers are open.
    depth: usize,
    /// Whether the innermost container written to has an element (one flag,
    /// as in `serde_json`: every end of a value sets it).
    has_value: bool,
}

impl Pretty {
    /// A newline and the indent of the current depth.
    #[inline]
    fn newline(&self, out: &mut Vec<u8>) {
        /// A newline and the indent of 63 levels.
        const LINE: [u8; 127] = {
            let mut line = [b' '; 127];
            line[0] = b'\n';
            line
        };
        let width = 1 + 2 * self.depth;
        let end = out.len() + width;
        // A copy of a fixed size is a few moves, not a call: copy a little
        // more than needed and cut back.
        match width {
            0..=16 => out.extend_from_slice(&LINE[..16]),
            17..=32 => out.extend_from_slice(&LINE[..32]),
            33..=64 => out.extend_from_slice(&LINE[..64]),
            _ => deep(out, width),
        }
        out.truncate(end);

        /// 32 levels or more: the newline, then spaces run by run.
        #[cold]
        fn deep(out: &mut Vec<u8>, width: usize) {
            out.extend_from_slice(&LINE[..1]);
            let mut rest = width - 1;
            while rest > 0 {
                let n = rest.min(LINE.len() - 1);
                out.extend_from_slice(&LINE[1..=n]);
                rest -= n;
            }
        }
    }

    #[inline]
    fn close(&mut self, out: &mut Vec<u8>, bracket: u8) {
        self.depth -= 1;
        if self.has_value {
            self.newline(out);
        }
        out.push(bracket);
    }
}

impl Format for Pretty {
    #[inline]
    fn begin_array(&mut self, out: &mut Vec<u8>) {
        self.depth += 1;
        self.has_value = false;
        out.push(b'[');
    }
    #[inline]
    fn end_array(&mut self, out: &mut Vec<u8>) {
        self.close(out, b']');
    }
    #[inline]
    fn begin_array_value(&mut self, out: &mut Vec<u8>, first: bool) {
        if !first {
            out.push(b',');
        }
        self.newline(out);
    }
    #[inline]
    fn end_array_value(&mut self) {
        self.has_value = true;
    }
    #[inline]
    fn begin_object(&mut self, out: &mut Vec<u8>) {
        self.depth += 1;
        self.has_value = false;
        out.push(b'{');
    }
    #[inline]
    fn end_object(&mut self, out: &mut Vec<u8>) {
        self.close(out, b'}');
    }
    #[inline]
    fn begin_object_key(&mut self, out: &mut Vec<u8>, first: bool) {
        if !first {
            out.push(b',');
        }
        self.newline(out);
    }
    #[inline]
    fn begin_object_value(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b": ");
    }
    #[inline]
    fn end_object_value(&mut self) {
        self.has_value = true;
    }
}

/// The buffer, the writer it is emptied into, and the whitespace style.
struct Serializer<W, F> {
    out: Vec<u8>,
    writer: W,
    format: F,
}

impl<W: io::Write, F> Serializer<W, F> {
    /// Hands the buffer to the writer once it holds a block.
    #[inline]
    fn spill(&mut self) -> Result<(), Error> {
        if self.out.len() >= BLOCK {
            self.writer.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }
}

/// The `serde_json` name of a `RawValue` (its `Serialize` is a struct of one
/// field, both by this name).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// `ser::Serializer`'s ten integer methods, each handing its value to the
/// serializer's own `$integer` (every serializer here treats all integers
/// alike).
macro_rules! integer_methods {
    ($integer:ident) => {
        integer_methods!(@ $integer
            serialize_i8 i8, serialize_i16 i16, serialize_i32 i32, serialize_i64 i64,
            serialize_i128 i128, serialize_u8 u8, serialize_u16 u16, serialize_u32 u32,
            serialize_u64 u64, serialize_u128 u128);
    };
    (@ $integer:ident $($name:ident $t:ty),*) => {
        $(
            #[inline]
            fn $name(self, v: $t) -> Result<(), Error> {
                self.$integer(v)
            }
        )*
    };
}

impl<'a, W: io::Write, F: Format> ser::Serializer for &'a mut Serializer<W, F> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, W, F>;
    type SerializeTuple = Compound<'a, W, F>;
    type SerializeTupleStruct = Compound<'a, W, F>;
    type SerializeTupleVariant = Compound<'a, W, F>;
    type SerializeMap = Compound<'a, W, F>;
    type SerializeStruct = Compound<'a, W, F>;
    type SerializeStructVariant = Compound<'a, W, F>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integer_methods!(integer);
    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        write_float(&mut self.out, &v)
    }
    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_float(&mut self.out, &v)
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(&mut self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(&mut self.out, v);
        Ok(())
    }
    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        // An array of numbers, `[]` when empty.
        self.format.begin_array(&mut self.out);
        for (i, byte) in v.iter().enumerate() {
            self.format.begin_array_value(&mut self.out, i == 0);
            write_u64(&mut self.out, u64::from(*byte));
            self.format.end_array_value();
        }
        self.format.end_array(&mut self.out);
        Ok(())
    }
    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.open_variant(variant);
        value.serialize(&mut *self)?;
        self.format.end_object_value();
        self.format.end_object(&mut self.out);
        Ok(())
    }
    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, W, F>, Error> {
        self.format.begin_array(&mut self.out);
        let state = if len == Some(0) {
            self.format.end_array(&mut self.out);
            State::Empty
        } else {
            State::First
        };
        Ok(Compound::Map { ser: self, state })
    }
    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, W, F>, Error> {
        self.serialize_seq(Some(len))
    }
    #[inline]
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W, F>, Error> {
        self.serialize_seq(Some(len))
    }
    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W, F>, Error> {
        self.open_variant(variant);
        self.serialize_seq(Some(len))
    }
    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, W, F>, Error> {
        self.format.begin_object(&mut self.out);
        let state = if len == Some(0) {
            self.format.end_object(&mut self.out);
            State::Empty
        } else {
            State::First
        };
        Ok(Compound::Map { ser: self, state })
    }
    #[inline]
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'a, W, F>, Error> {
        if name == RAW_VALUE {
            return Ok(Compound::Raw { ser: self });
        }
        self.serialize_map(Some(len))
    }
    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, W, F>, Error> {
        self.open_variant(variant);
        self.serialize_map(Some(len))
    }
    #[inline]
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.out.push(b'"');
        // Escaped piece by piece as it is formatted; formatting into a
        // `Vec` only fails when `value`'s own `Display` does.
        fmt::write(&mut Escaping(&mut self.out), format_args!("{value}"))
            .map_err(|_| Error::Message("a Display implementation returned an error".into()))?;
        self.out.push(b'"');
        Ok(())
    }
}

impl<W: io::Write, F: Format> Serializer<W, F> {
    /// An integer, in decimal.
    #[inline]
    fn integer(&mut self, v: impl Integer) -> Result<(), Error> {
        v.write(&mut self.out);
        Ok(())
    }

    /// `{"variant": ` (with its whitespace): the start of an enum variant
    /// that holds data.
    fn open_variant(&mut self, variant: &str) {
        self.format.begin_object(&mut self.out);
        self.format.begin_object_key(&mut self.out, true);
        write_str(&mut self.out, variant);
        self.format.begin_object_value(&mut self.out);
    }
}

/// Where a container is: closed already (declared empty), before its first
/// element, or after one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    First,
    Rest,
}

/// An open array or object, or a `RawValue` being written.
enum Compound<'a, W, F> {
    Map {
        ser: &'a mut Serializer<W, F>,
        state: State,
    },
    Raw {
        ser: &'a mut Serializer<W, F>,
    },
}

impl<W: io::Write, F: Format> Compound<'_, W, F> {
    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let Compound::Map { ser, state } = self else {
            return Err(expected_value());
        };
        ser.format
            .begin_array_value(&mut ser.out, *state == State::First);
        *state = State::Rest;
        value.serialize(&mut **ser)?;
        ser.format.end_array_value();
        ser.spill()
    }

    /// Closes an array, unless it was closed when opened (declared empty).
    #[inline]
    fn end_array(self) -> Result<(), Error> {
        if let Compound::Map { ser, state } = self
            && state != State::Empty
        {
            ser.format.end_array(&mut ser.out);
        }
        Ok(())
    }

    /// Closes an object, unless it was closed when opened (declared empty).
    #[inline]
    fn end_object(self) -> Result<(), Error> {
        match self {
            Compound::Map { ser, state } => {
                if state != State::Empty {
                    ser.format.end_object(&mut ser.out);
                }
                Ok(())
            }
            // A raw value is written whole by its one field.
            Compound::Raw { .. } => Ok(()),
        }
    }

    /// Closes the array or object of a variant, then the `{"variant": `
    /// around it.
    fn end_variant(self, bracket: Bracket) -> Result<(), Error> {
        let Compound::Map { ser, state } = self else {
            return Err(expected_value());
        };
        if state != State::Empty {
            match bracket {
                Bracket::Array => ser.format.end_array(&mut ser.out),
                Bracket::Object => ser.format.end_object(&mut ser.out),
            }
        }
        ser.format.end_object_value();
        ser.format.end_object(&mut ser.out);
        Ok(())
    }

    #[inline]
    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let Compound::Map { ser, state } = self else {
            return Err(expected_value());
        };
        ser.format
            .begin_object_key(&mut ser.out, *state == State::First);
        *state = State::Rest;
        key.serialize(KeySerializer(&mut ser.out))
    }

    #[inline]
    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let Compound::Map { ser, .. } = self else {
            return Err(expected_value());
        };
        ser.format.begin_object_value(&mut ser.out);
        value.serialize(&mut **ser)?;
        ser.format.end_object_value();
        ser.spill()
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        match self {
            Compound::Map { ser, state } => {
                ser.format
                    .begin_object_key(&mut ser.out, *state == State::First);
                *state = State::Rest;
                write_str(&mut ser.out, key);
            }
            Compound::Raw { ser } => {
                return if key == RAW_VALUE {
                    value.serialize(RawSerializer(&mut ser.out))
                } else {
                    Err(expected_value())
                };
            }
        }
        self.value(value)
    }
}

/// Which container a variant holds.
#[derive(Clone, Copy)]
enum Bracket {
    Array,
    Object,
}

fn expected_value() -> Error {
    Error::Message("expected value".into())
}

/// Sequences, tuples and tuple structs are all written as a JSON array.
macro_rules! array_compound {
    ($($trait:ident :: $method:ident),*) => {$(
        impl<W: io::Write, F: Format> ser::$trait for Compound<'_, W, F> {
            type Ok = ();
            type Error = Error;
            #[inline]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            #[inline]
            fn end(self) -> Result<(), Error> {
                self.end_array()
            }
        }
    )*};
}

array_compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl<W: io::Write, F: Format> ser::SerializeTupleVariant for Compound<'_, W, F> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.element(value)
    }
    #[inline]
    fn end(self) -> Result<(), Error> {
        self.end_variant(Bracket::Array)
    }
}

impl<W: io::Write, F: Format> ser::SerializeMap for Compound<'_, W, F> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    #[inline]
    fn end(self) -> Result<(), Error> {
        self.end_object()
    }
}

impl<W: io::Write, F: Format> ser::SerializeStruct for Compound<'_, W, F> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    #[inline]
    fn end(self) -> Result<(), Error> {
        self.end_object()
    }
}

impl<W: io::Write, F: Format> ser::SerializeStructVariant for Compound<'_, W, F> {
    type Ok = ();
    type Error = Error;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    #[inline]
    fn end(self) -> Result<(), Error> {
        self.end_variant(Bracket::Object)
    }
}

fn float_key_must_be_finite() -> Error {
    Error::Message("float key must be finite (got NaN or +/-inf)".into())
}

fn key_must_be_a_string() -> Error {
    Error::Message("key must be a string".into())
}

/// Writes a map key: a string as is; an integer, boolean or finite float as
/// a string of its JSON form (as `serde_json` does); nothing else.
struct KeySerializer<'a>(&'a mut Vec<u8>);

impl KeySerializer<'_> {
    /// `"` + what `write` appends + `"`.
    fn quoted(self, write: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
        self.0.push(b'"');
        write(self.0);
        self.0.push(b'"');
        Ok(())
    }

    /// An integer key, quoted.
    #[inline]
    fn integer(self, v: impl Integer) -> Result<(), Error> {
        self.quoted(|out| v.write(out))
    }

    /// A float key, quoted; one that is not finite is refused.
    fn float<T: Serialize>(self, finite: bool, v: &T) -> Result<(), Error> {
        if !finite {
            return Err(float_key_must_be_finite());
        }
        self.0.push(b'"');
        write_float(self.0, v)?;
        self.0.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for KeySerializer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.0, v);
        Ok(())
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    #[inline]
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.serialize_str(&value.to_string())
    }
    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(|out| out.extend_from_slice(if v { b"true" } else { b"false" }))
    }
    integer_methods!(integer);
    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v.is_finite(), &v)
    }
    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v.is_finite(), &v)
    }
    #[inline]
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }
    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(key_must_be_a_string())
    }
}

fn expected_raw_value() -> Error {
    Error::Message("expected RawValue".into())
}

/// Writes the text of a `RawValue` verbatim; it has nothing else to write.
struct RawSerializer<'a>(&'a mut Vec<u8>);

impl RawSerializer<'_> {
    /// An integer is not a `RawValue`'s text.
    fn integer(self, _v: impl Integer) -> Result<(), Error> {
        Err(expected_raw_value())
    }
}

impl ser::Serializer for RawSerializer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.extend_from_slice(v.as_bytes());
        Ok(())
    }
    fn serialize_bool(self, _v: bool) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    integer_methods!(integer);
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_char(self, _v: char) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(expected_raw_value())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Impossible<(), Error>, Error> {
        Err(expected_raw_value())
    }
}

/// A float as `serde_json` writes it (its shortest round-trip form; `null`
/// when not finite).
fn write_float<T: Serialize>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    serde_json::to_writer(out, v).map_err(|e| Error::Message(e.to_string()))
}

/// An integer serde hands a serializer, written in decimal as
/// `serde_json` writes it (widened to the writer of its sign and size).
trait Integer: Copy {
    fn write(self, out: &mut Vec<u8>);
}

macro_rules! integers {
    ($($t:ty => $wide:ty, $write:ident;)*) => {
        $(impl Integer for $t {
            #[inline]
            fn write(self, out: &mut Vec<u8>) {
                $write(out, <$wide>::from(self))
            }
        })*
    };
}

integers! {
    i8 => i64, write_i64; i16 => i64, write_i64; i32 => i64, write_i64; i64 => i64, write_i64;
    i128 => i128, write_i128;
    u8 => u64, write_u64; u16 => u64, write_u64; u32 => u64, write_u64; u64 => u64, write_u64;
    u128 => u128, write_u128;
}

/// `n` in decimal.
#[inline]
fn write_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `n` in decimal, with `-` when negative.
#[inline]
fn write_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    write_u64(out, n.unsigned_abs());
}

/// `n` in decimal.
fn write_u128(out: &mut Vec<u8>, mut n: u128) {
    let mut digits = [0u8; 39];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `n` in decimal, with `-` when negative.
fn write_i128(out: &mut Vec<u8>, n: i128) {
    if n < 0 {
        out.push(b'-');
    }
    write_u128(out, n.unsigned_abs());
}

/// Appends the escaped pieces of a string being formatted.
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_escaped(self.0, s);
        Ok(())
    }
}

/// `s` as a JSON string, in quotes.
#[inline]
fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_escaped(out, s);
    out.push(b'"');
}

/// How `serde_json` escapes each byte: 0 for not at all, `u` for `\u00XX`,
/// else the letter after the backslash.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// SWAR tests on the bytes of a word: each is exact for "any byte of the
/// word matches" (a borrow only runs upward from a byte that itself
/// matches), which is all they are asked.
macro_rules! needs_escape {
    ($name:ident, $int:ty) => {
        /// Whether any byte of `word` needs escaping: is below `0x20`, is
        /// `"` or is `\`.
        #[inline]
        fn $name(word: $int) -> bool {
            const ONES: $int = <$int>::MAX / 0xff;
            const HIGHS: $int = ONES * 0x80;
            let below_space = word.wrapping_sub(ONES * 0x20) & !word;
            let quote = word ^ (ONES * b'"' as $int);
            let backslash = word ^ (ONES * b'\\' as $int);
            let is_quote = quote.wrapping_sub(ONES) & !quote;
            let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
            (below_space | is_quote | is_backslash) & HIGHS != 0
        }
    };
}

needs_escape!(needs_escape, u64);
needs_escape!(needs_escape_4, u32);

/// Whether any byte of `bytes` needs escaping, checked a word at a time (the
/// last word overlapping the one before it, which does no harm to "any").
#[inline]
fn any_needs_escape(bytes: &[u8]) -> bool {
    let word = |at: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        needs_escape(u64::from_le_bytes(w))
    };
    let half = |at: usize| {
        let mut w = [0; 4];
        w.copy_from_slice(&bytes[at..at + 4]);
        needs_escape_4(u32::from_le_bytes(w))
    };
    match bytes.len() {
        0 => false,
        1..4 => bytes.iter().any(|&b| ESCAPE[usize::from(b)] != 0),
        4..8 => half(0) || half(bytes.len() - 4),
        n => {
            let (words, _) = bytes.as_chunks::<8>();
            words.iter().any(|w| needs_escape(u64::from_le_bytes(*w))) || word(n - 8)
        }
    }
}

/// Appends the contents of `s` escaped: copied whole when nothing in it
/// needs escaping (the usual case), else run by run between escapes.
#[inline]
fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if any_needs_escape(bytes) {
        write_escaped_runs(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
}

/// Appends `bytes` escaped, copying the runs between escapes whole.
#[cold]
fn write_escaped_runs(out: &mut Vec<u8>, bytes: &[u8]) {
    // The start of the run not yet copied.
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if ESCAPE[usize::from(byte)] != 0 {
            out.extend_from_slice(&bytes[start..at]);
            escape(out, byte);
            start = at + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The escape of one byte that needs one.
#[cold]
fn escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match ESCAPE[usize::from(byte)] {
        b'u' => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(byte >> 4)],
            HEX[usize::from(byte & 0xf)],
        ]),
        letter => out.extend_from_slice(&[b'\\', letter]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_tests_agree_with_the_table_for_every_byte_at_every_place() {
        for fill in [b'a', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xc3, 0xff] {
            for byte in 0..=255u8 {
                let expected = ESCAPE[usize::from(byte)] != 0;
                for place in 0..8 {
                    let mut word = [fill; 8];
                    word[place] = byte;
                    assert_eq!(
                        needs_escape(u64::from_le_bytes(word)),
                        expected,
                        "byte {byte:#04x} at {place} among {fill:#04x}"
                    );
                }
                for place in 0..4 {
                    let mut word = [fill; 4];
                    word[place] = byte;
                    assert_eq!(
                        needs_escape_4(u32::from_le_bytes(word)),
                        expected,
                        "byte {byte:#04x} at {place} of four among {fill:#04x}"
                    );
                }
                for len in 1..30 {
                    for place in 0..len {
                        let mut bytes = vec![fill; len];
                        bytes[place] = byte;
                        assert_eq!(
                            any_needs_escape(&bytes),
                            expected,
                            "byte {byte:#04x} at {place} of {len} among {fill:#04x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_byte_escapes_as_serde_json_escapes_it() {
        for byte in 0..0x80u8 {
            let s = String::from(char::from(byte));
            for text in [s.clone(), format!("abcdefgh{s}ijklmnop"), s.repeat(9)] {
                let mut ours = Vec::new();
                write_str(&mut ours, &text);
                assert_eq!(ours, serde_json::to_vec(&text).unwrap_or_default());
            }
        }
    }
}
