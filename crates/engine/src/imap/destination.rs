//! An IMAP account as a restore [`Destination`]: CREATE for missing folders (named with the
//! server's hierarchy delimiter, in modified UTF-7) and APPEND with the original flags and
//! arrival time. It issues no command that deletes or changes existing mail.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::TryStreamExt;
use tokio::runtime::Runtime;

use super::conn::{Connector, ImapSession, server_words};
use super::{Access, ImapSpec, connect, internal_date, utf7};
use crate::destination::{Destination, NewMessage};
use crate::source::{Folder, Role, SourceDescription};
use crate::{Error, Result};

pub struct ImapDestination {
    rt: Runtime,
    connector: Arc<Connector>,
    session: ImapSession,
    /// The server's hierarchy delimiter (`/`, `.`), from `LIST "" ""`.
    delimiter: Option<String>,
    /// Folders known to exist: decoded path → name on the wire.
    known: HashMap<Vec<String>, String>,
}

impl ImapDestination {
    /// Connects, logs in and lists the existing folders.
    pub fn open(spec: &ImapSpec, access: &Access) -> Result<Self> {
        let (rt, connector, mut session) = connect(spec, access)?;
        let fail = |e: async_imap::error::Error| {
            Error::Connection(format!(
                "{}: LIST failed: {}",
                connector.spec.location(),
                server_words(&e)
            ))
        };
        let (delimiter, names) = rt.block_on(async {
            let root: Vec<_> = session
                .list(Some(""), Some("\"\""))
                .await
                .map_err(fail)?
                .try_collect()
                .await
                .map_err(fail)?;
            let delimiter = root.first().and_then(|n| n.delimiter().map(str::to_string));
            let names: Vec<String> = session
                .list(Some(""), Some("\"*\""))
                .await
                .map_err(fail)?
                .map_ok(|n| n.name().to_string())
                .try_collect()
                .await
                .map_err(fail)?;
            Ok::<_, Error>((delimiter, names))
        })?;
        let mut dest = Self {
            rt,
            connector,
            session,
            delimiter,
            known: HashMap::new(),
        };
        for wire in names {
            dest.known.insert(dest.decode(&wire), wire);
        }
        Ok(dest)
    }

    fn decode(&self, wire: &str) -> Vec<String> {
        let segments: Vec<&str> = match self.delimiter.as_deref() {
            Some(d) if !d.is_empty() => wire.split(d).collect(),
            _ => vec![wire],
        };
        segments
            .iter()
            .map(|s| utf7::decode(s).unwrap_or_else(|| s.to_string()))
            .collect()
    }

    fn encode(&self, path: &[String]) -> Result<String> {
        let delimiter = self.delimiter.as_deref().unwrap_or("");
        if path.len() > 1 && delimiter.is_empty() {
            return Err(Error::Usage(format!(
                "{} has no folder hierarchy, so {} cannot be created",
                self.connector.spec.location(),
                path.join("/")
            )));
        }
        if let Some(bad) = path
            .iter()
            .find(|s| !delimiter.is_empty() && s.contains(delimiter))
        {
            return Err(Error::Usage(format!(
                "the folder name `{bad}` contains the server's hierarchy separator `{delimiter}`"
            )));
        }
        // INBOX is case-insensitive on every server and never encoded.
        Ok(path
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == 0 && s.eq_ignore_ascii_case("INBOX") {
                    "INBOX".to_string()
                } else {
                    utf7::encode(s)
                }
            })
            .collect::<Vec<_>>()
            .join(delimiter))
    }

    fn refused(&self, what: String, e: async_imap::error::Error) -> Error {
        Error::Connection(format!(
            "{}: {what}: {}",
            self.connector.spec.location(),
            server_words(&e)
        ))
    }
}

impl Destination for ImapDestination {
    fn describe(&self) -> SourceDescription {
        SourceDescription {
            kind: "imap".into(),
            location: self.connector.spec.location(),
        }
    }

    fn ensure_folder(&mut self, path: &[String]) -> Result<Folder> {
        for depth in 1..=path.len() {
            let prefix = &path[..depth];
            let known = self.known.keys().any(|k| {
                k.len() == depth
                    && k.iter().zip(prefix).all(|(a, b)| {
                        a == b
                            || (depth == 1
                                && a.eq_ignore_ascii_case("INBOX")
                                && b.eq_ignore_ascii_case("INBOX"))
                    })
            });
            if known {
                continue;
            }
            let wire = self.encode(prefix)?;
            if let Err(e) = self.rt.block_on(self.session.create(&wire)) {
                // Another client may have created it meanwhile: fine, as long as it exists now.
                let exists = self
                    .rt
                    .block_on(self.session.status(&wire, "(MESSAGES)"))
                    .is_ok();
                if !exists {
                    return Err(
                        self.refused(format!("cannot create the folder {}", prefix.join("/")), e)
                    );
                }
            }
            self.known.insert(prefix.to_vec(), wire);
        }
        let locator = self.encode(path)?;
        Ok(Folder {
            path: path.to_vec(),
            role: path
                .first()
                .filter(|p| path.len() == 1 && p.eq_ignore_ascii_case("INBOX"))
                .map(|_| Role::Inbox),
            claimed: None,
            bytes_hint: None,
            locator,
        })
    }

    fn append(&mut self, folder: &Folder, message: NewMessage<'_>) -> Result<()> {
        let flags: Vec<&str> = message
            .flags
            .iter()
            .map(String::as_str)
            .filter(|f| !f.eq_ignore_ascii_case("\\Recent") && is_atom(f))
            .collect();
        let flags = format!("({})", flags.join(" "));
        let date = message.internal_date.and_then(internal_date::format);
        self.rt
            .block_on(self.session.append(
                &folder.locator,
                Some(&flags),
                date.as_deref(),
                message.bytes,
            ))
            .map_err(|e| self.refused(format!("APPEND to {} failed", folder.name()), e))
    }
}

/// A flag that can go into a flag list as it is (no spaces, brackets or quotes).
fn is_atom(flag: &str) -> bool {
    !flag.is_empty()
        && flag.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_graphic() && !b"(){%*\"]".contains(&b) && (b != b'\\' || i == 0)
        })
}
