//! JSON objects only: the protocol's structs are objects on the wire (PROTOCOL.md section 3.2).
//!
//! serde's derived `Deserialize` also accepts a struct written as an array of its field values;
//! the protocol does not. Each wire struct derives with `#[serde(remote = "Self")]` and gets its
//! trait impls from [`object_only!`], whose `Deserialize` accepts a JSON object and nothing else.

/// Implements `Serialize` and an object-only `Deserialize` for structs deriving with
/// `#[serde(remote = "Self")]`.
macro_rules! object_only {
    ($($t:ty),* $(,)?) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$t>::serialize(self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Object;
                impl<'de> serde::de::Visitor<'de> for Object {
                    type Value = $t;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<$t, A::Error> {
                        <$t>::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                d.deserialize_map(Object)
            }
        }
    )*};
}

pub(crate) use object_only;

/// A present optional field must not be `null` (`deserialize_with` of optional members).
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}
