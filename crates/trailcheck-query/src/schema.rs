//! The `events` table schema: AWS's documented Athena `cloudtrail_logs`
//! columns followed by trailcheck's provenance columns.
//!
//! The schema is described once as a tree of [`Node`]s; both the Arrow
//! schema and the JSON→Arrow builders are derived from that tree, so they
//! cannot drift apart.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

/// Shape of one column (or nested field) of the `events` table.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// A string. JSON strings are stored unescaped; numbers and booleans are
    /// stored as their JSON text (Hive-serde leniency); JSON `null`/absent
    /// becomes SQL NULL; objects/arrays are stored as JSON text.
    Str,
    /// The raw JSON text of the value (`requestparameters` & co.).
    Json,
    /// A struct with named children.
    Struct(Vec<Child>),
    /// A list of the inner node.
    List(Box<Node>),
    /// `map<string,string>`.
    Map,
}

/// A named child of a struct node.
#[derive(Debug, Clone)]
pub(crate) struct Child {
    /// Column / field name as Athena spells it (lower case).
    pub name: &'static str,
    /// JSON key it is read from, matched ASCII-case-insensitively.
    pub key: &'static str,
    pub node: Node,
}

fn c(name: &'static str, node: Node) -> Child {
    Child {
        name,
        key: name,
        node,
    }
}

fn s(name: &'static str) -> Child {
    c(name, Node::Str)
}

impl Node {
    /// Arrow data type of this node.
    pub(crate) fn data_type(&self) -> DataType {
        match self {
            Node::Str | Node::Json => DataType::Utf8,
            Node::Struct(children) => DataType::Struct(struct_fields(children)),
            Node::List(inner) => {
                DataType::List(Arc::new(Field::new("item", inner.data_type(), true)))
            }
            Node::Map => DataType::Map(map_entries_field(), false),
        }
    }
}

/// Arrow fields of a struct node's children.
pub(crate) fn struct_fields(children: &[Child]) -> Fields {
    children
        .iter()
        .map(|ch| Field::new(ch.name, ch.node.data_type(), true))
        .collect()
}

/// The `entries` field of a `map<string,string>`.
pub(crate) fn map_entries_field() -> Arc<Field> {
    Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Utf8, true),
        ])),
        false,
    ))
}

/// The event (JSON-derived) columns, in Athena's order.
pub(crate) static EVENT_COLUMNS: LazyLock<Vec<Child>> = LazyLock::new(event_columns);

fn event_columns() -> Vec<Child> {
    let session_issuer = Node::Struct(vec![
        s("type"),
        s("principalid"),
        s("arn"),
        s("accountid"),
        s("username"),
    ]);
    let session_context = Node::Struct(vec![
        c(
            "attributes",
            Node::Struct(vec![s("mfaauthenticated"), s("creationdate")]),
        ),
        c("sessionissuer", session_issuer),
        s("ec2roledelivery"),
        c(
            "webidfederationdata",
            Node::Struct(vec![s("federatedprovider"), c("attributes", Node::Map)]),
        ),
        s("sourceidentity"),
    ]);
    let user_identity = Node::Struct(vec![
        s("type"),
        s("principalid"),
        s("arn"),
        s("accountid"),
        s("invokedby"),
        s("accesskeyid"),
        s("username"),
        c(
            "onbehalfof",
            Node::Struct(vec![s("userid"), s("identitystorearn")]),
        ),
        c("sessioncontext", session_context),
        s("credentialid"),
    ]);
    let resource = Node::Struct(vec![s("arn"), s("accountid"), s("type")]);
    let tls = Node::Struct(vec![
        s("tlsversion"),
        s("ciphersuite"),
        Child {
            name: "clienthostheader",
            key: "clientProvidedHostHeader",
            node: Node::Str,
        },
    ]);
    vec![
        s("eventversion"),
        c("useridentity", user_identity),
        s("eventtime"),
        s("eventsource"),
        s("eventname"),
        s("awsregion"),
        s("sourceipaddress"),
        s("useragent"),
        s("errorcode"),
        s("errormessage"),
        c("requestparameters", Node::Json),
        c("responseelements", Node::Json),
        c("additionaleventdata", Node::Json),
        s("requestid"),
        s("eventid"),
        c("resources", Node::List(Box::new(resource))),
        s("eventtype"),
        s("apiversion"),
        s("readonly"),
        s("recipientaccountid"),
        c("serviceeventdetails", Node::Json),
        s("sharedeventid"),
        s("vpcendpointid"),
        s("vpcendpointaccountid"),
        s("eventcategory"),
        s("managementevent"),
        c("tlsdetails", tls),
    ]
}

/// Provenance columns appended after the event columns.
///
/// `_digest_key` and `_key_fingerprint` are nullable; the others are always
/// set by the producer.
pub const PROVENANCE_COLUMNS: [&str; 8] = [
    "_log_key",
    "_log_bucket",
    "_log_sha256",
    "_digest_key",
    "_key_fingerprint",
    "_status",
    "_account",
    "_region",
];

/// Number of JSON-derived columns.
pub(crate) fn event_column_count() -> usize {
    EVENT_COLUMNS.len()
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields: Vec<Field> = EVENT_COLUMNS
        .iter()
        .map(|ch| Field::new(ch.name, ch.node.data_type(), true))
        .collect();
    for (i, name) in PROVENANCE_COLUMNS.iter().enumerate() {
        let nullable = i == 3 || i == 4;
        fields.push(Field::new(*name, DataType::Utf8, nullable));
    }
    Arc::new(Schema::new(fields))
});

/// Arrow schema of the `events` table (all columns, unprojected).
pub fn events_schema() -> SchemaRef {
    Arc::clone(&SCHEMA)
}
