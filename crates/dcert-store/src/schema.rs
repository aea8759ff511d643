//! The schema: one list of migrations for both backends, each for one part of the database: the
//! tables both parties keep ([`Part::Shared`]), a university's and the Ministry's. A store
//! migrates only the parts it holds, and records each part's versions in `schema_parts`.
//!
//! Versions are numbered across the parts in the order they were written: a database made by an
//! earlier release (which migrated every part, recorded in `schema_migrations`) holds every
//! migration up to its version, and is adopted as such.
//!
//! Each statement is written once. The few words that differ between SQLite and PostgreSQL are
//! placeholders: `{id}` (an auto-numbered primary key), `{blob}` (bytes). Triggers, whose syntax
//! differs entirely, are given per backend.

use crate::Backend;

/// A part of the schema, held by one party or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// Staff, sessions, the audit log.
    Shared,
    /// A university's tables.
    University,
    /// The Ministry's tables.
    Ministry,
}

impl Part {
    /// The part's name in `schema_parts`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Part::Shared => "shared",
            Part::University => "university",
            Part::Ministry => "ministry",
        }
    }
}

/// The newest version an earlier release (one history for every part) could have written.
pub(crate) const LEGACY_VERSION: i64 = 5;

/// One migration: a part, a version, a name and its statements, applied in one transaction.
pub(crate) struct Migration {
    pub part: Part,
    pub version: i64,
    pub name: &'static str,
    pub statements: &'static [&'static str],
    pub sqlite_only: &'static [&'static str],
    pub postgres_only: &'static [&'static str],
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        part: Part::Shared,
        version: 1,
        name: "staff, sessions and the audit log",
        statements: &[
            "CREATE TABLE staff (
            id {id},
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL,
            campus TEXT,
            created_at BIGINT NOT NULL
        )",
            "CREATE TABLE audit_log (
            id {id},
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL,
            ip TEXT NOT NULL
        )",
            "CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )",
        ],
        sqlite_only: &[
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
        ],
        postgres_only: &[
            "CREATE OR REPLACE FUNCTION dcert_append_only() RETURNS trigger LANGUAGE plpgsql AS $body$
         BEGIN RAISE EXCEPTION 'the % table is append-only', TG_TABLE_NAME; END $body$",
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
         FOR EACH ROW EXECUTE FUNCTION dcert_append_only()",
        ],
    },
    Migration {
        part: Part::University,
        version: 1,
        name: "university side",
        statements: &[
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE campuses (
            code TEXT PRIMARY KEY,
            position BIGINT NOT NULL,
            name_zh TEXT NOT NULL,
            name_en TEXT NOT NULL,
            office_zh TEXT NOT NULL,
            office_en TEXT NOT NULL,
            extensions TEXT NOT NULL
        )",
            "CREATE TABLE graduate_accounts (
            student_number TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
            "CREATE TABLE graduates (
            id {id},
            student_number TEXT NOT NULL,
            term TEXT NOT NULL,
            campus TEXT NOT NULL REFERENCES campuses (code),
            record TEXT NOT NULL,
            name_zh TEXT NOT NULL,
            department_zh TEXT NOT NULL,
            school_email TEXT NOT NULL,
            permanent_email TEXT,
            mid_term BIGINT NOT NULL,
            confirmed_at BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (student_number, term)
        )",
            "CREATE INDEX graduates_campus ON graduates (campus, term)",
            "CREATE TABLE email_changes (
            id {id},
            graduate_id BIGINT NOT NULL REFERENCES graduates (id),
            address TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            confirmed_at BIGINT
        )",
            "CREATE TABLE corrections (
            id {id},
            graduate_id BIGINT NOT NULL REFERENCES graduates (id),
            message TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            resolved_at BIGINT,
            resolved_by TEXT
        )",
            "CREATE TABLE calendar (day TEXT PRIMARY KEY, workday BIGINT NOT NULL, note TEXT NOT NULL)",
            "CREATE TABLE orders (
            id {id},
            graduate_id BIGINT NOT NULL REFERENCES graduates (id),
            language TEXT NOT NULL,
            version BIGINT NOT NULL,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            requested_on TEXT NOT NULL,
            due_on TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            certificate_id BIGINT,
            last_error TEXT,
            cancelled_at BIGINT,
            UNIQUE (graduate_id, language, version)
        )",
            "CREATE INDEX orders_open ON orders (certificate_id, due_on)",
            "CREATE TABLE certificates (
            id {id},
            graduate_id BIGINT NOT NULL REFERENCES graduates (id),
            language TEXT NOT NULL,
            version BIGINT NOT NULL,
            number TEXT NOT NULL,
            sha256 TEXT NOT NULL UNIQUE,
            previous_sha256 TEXT,
            file {blob} NOT NULL,
            size BIGINT NOT NULL,
            issued_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            status_at BIGINT,
            UNIQUE (graduate_id, language, version)
        )",
            "CREATE TABLE outbox (
            id {id},
            certificate_id BIGINT REFERENCES certificates (id),
            kind TEXT NOT NULL,
            to_address TEXT NOT NULL,
            subject TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            last_error TEXT,
            sent_at BIGINT,
            created_at BIGINT NOT NULL
        )",
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
            // A certificate's delivery counts are read with every certificate shown or issued.
            "CREATE INDEX outbox_certificate ON outbox (certificate_id, status)",
            "CREATE INDEX certificates_graduate ON certificates (graduate_id, language, version)",
            "CREATE INDEX orders_graduate ON orders (graduate_id, language, version)",
            "CREATE TABLE delivery_log (
            id {id},
            outbox_id BIGINT NOT NULL REFERENCES outbox (id),
            at BIGINT NOT NULL,
            event TEXT NOT NULL,
            detail TEXT NOT NULL
        )",
            "CREATE TABLE registry_outbox (
            id {id},
            payload TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at BIGINT NOT NULL,
            last_error TEXT,
            submitted_at BIGINT
        )",
            "CREATE TABLE templates (
            language TEXT PRIMARY KEY,
            design TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            updated_by TEXT NOT NULL
        )",
        ],
        sqlite_only: &[],
        postgres_only: &[],
    },
    Migration {
        part: Part::Ministry,
        version: 1,
        name: "registry records",
        statements: &["CREATE TABLE registry_records (
            id {id},
            institution TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            event TEXT NOT NULL,
            number TEXT NOT NULL,
            language TEXT NOT NULL,
            version BIGINT NOT NULL,
            previous_sha256 TEXT,
            credential_type TEXT NOT NULL,
            reason TEXT,
            at BIGINT NOT NULL,
            UNIQUE (sha256, event)
        )"],
        sqlite_only: &[
            "CREATE TRIGGER registry_records_no_update BEFORE UPDATE ON registry_records
         BEGIN SELECT RAISE(ABORT, 'registry records are append-only'); END",
            "CREATE TRIGGER registry_records_no_delete BEFORE DELETE ON registry_records
         BEGIN SELECT RAISE(ABORT, 'registry records are append-only'); END",
        ],
        postgres_only: &["CREATE TRIGGER registry_records_append_only BEFORE UPDATE OR DELETE ON registry_records
         FOR EACH ROW EXECUTE FUNCTION dcert_append_only()"],
    },
    Migration {
        part: Part::Ministry,
        version: 2,
        name: "ministry side",
        statements: &[
            // One row per verification: never the file, only its hash, the outcome and when.
            "CREATE TABLE verifications (
                id {id},
                at BIGINT NOT NULL,
                sha256 TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT,
                channel TEXT NOT NULL
            )",
            "CREATE INDEX verifications_at ON verifications (at)",
            "CREATE TABLE news (
                id {id},
                published_on TEXT NOT NULL,
                title_zh TEXT NOT NULL,
                title_en TEXT NOT NULL,
                body_zh TEXT NOT NULL,
                body_en TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                updated_by TEXT NOT NULL
            )",
            "CREATE TABLE faq (
                id {id},
                position BIGINT NOT NULL,
                question_zh TEXT NOT NULL,
                question_en TEXT NOT NULL,
                answer_zh TEXT NOT NULL,
                answer_en TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                updated_by TEXT NOT NULL
            )",
            // The nonces of signed registry requests seen, so that a request is accepted once.
            "CREATE TABLE request_nonces (
                institution TEXT NOT NULL,
                nonce TEXT NOT NULL,
                at BIGINT NOT NULL,
                PRIMARY KEY (institution, nonce)
            )",
            "CREATE INDEX registry_records_certificate ON registry_records (institution, number, language)",
        ],
        sqlite_only: &[],
        postgres_only: &[],
    },
    Migration {
        part: Part::Ministry,
        version: 3,
        name: "trust registry",
        statements: &[
            // The institutions (發證單位) and what they are accredited for: JSON arrays of codes.
            "CREATE TABLE institutions (
                id TEXT PRIMARY KEY,
                name_zh TEXT NOT NULL,
                name_en TEXT NOT NULL,
                address TEXT NOT NULL,
                credential_types TEXT NOT NULL,
                degree_levels TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )",
            // Credential keys are never deleted: a rotation ends a key's window, a compromise
            // sets its revocation once; what they signed before stays verifiable.
            "CREATE TABLE institution_keys (
                id {id},
                institution TEXT NOT NULL REFERENCES institutions (id),
                public_key_multibase TEXT NOT NULL UNIQUE,
                valid_from BIGINT NOT NULL,
                valid_until BIGINT NOT NULL,
                revoked_from BIGINT,
                revocation_reason TEXT,
                added_at BIGINT NOT NULL,
                CHECK (valid_until >= valid_from),
                CHECK ((revoked_from IS NULL) = (revocation_reason IS NULL))
            )",
            "CREATE INDEX institution_keys_institution ON institution_keys (institution)",
            // PDF signing certificates issued by the Ministry root, kept as issued.
            "CREATE TABLE institution_certificates (
                id {id},
                institution TEXT NOT NULL REFERENCES institutions (id),
                der {blob} NOT NULL,
                sha256 TEXT NOT NULL UNIQUE,
                not_before BIGINT NOT NULL,
                not_after BIGINT NOT NULL,
                revoked_from BIGINT,
                revocation_reason TEXT,
                added_at BIGINT NOT NULL,
                CHECK ((revoked_from IS NULL) = (revocation_reason IS NULL))
            )",
            "CREATE INDEX institution_certificates_institution ON institution_certificates (institution)",
            // Every signed trust list published, byte for byte; the latest is served.
            "CREATE TABLE trust_lists (
                sequence BIGINT PRIMARY KEY,
                issued_at BIGINT NOT NULL,
                json TEXT NOT NULL
            )",
        ],
        sqlite_only: &[
            "CREATE TRIGGER institutions_no_delete BEFORE DELETE ON institutions
             BEGIN SELECT RAISE(ABORT, 'institutions of the trust registry are never deleted'); END",
            "CREATE TRIGGER institution_keys_no_delete BEFORE DELETE ON institution_keys
             BEGIN SELECT RAISE(ABORT, 'keys of the trust registry are never deleted'); END",
            "CREATE TRIGGER institution_keys_guard BEFORE UPDATE ON institution_keys
             WHEN NEW.id IS NOT OLD.id OR NEW.institution IS NOT OLD.institution
                OR NEW.public_key_multibase IS NOT OLD.public_key_multibase
                OR NEW.valid_from IS NOT OLD.valid_from OR NEW.added_at IS NOT OLD.added_at
                OR NEW.valid_until > OLD.valid_until
                OR (OLD.revoked_from IS NOT NULL AND (NEW.revoked_from IS NOT OLD.revoked_from
                    OR NEW.revocation_reason IS NOT OLD.revocation_reason))
             BEGIN SELECT RAISE(ABORT, 'a key of the trust registry may only be ended earlier or revoked once'); END",
            "CREATE TRIGGER institution_certificates_no_delete BEFORE DELETE ON institution_certificates
             BEGIN SELECT RAISE(ABORT, 'certificates of the trust registry are never deleted'); END",
            "CREATE TRIGGER institution_certificates_guard BEFORE UPDATE ON institution_certificates
             WHEN NEW.id IS NOT OLD.id OR NEW.institution IS NOT OLD.institution OR NEW.der IS NOT OLD.der
                OR NEW.sha256 IS NOT OLD.sha256 OR NEW.not_before IS NOT OLD.not_before
                OR NEW.not_after IS NOT OLD.not_after OR NEW.added_at IS NOT OLD.added_at
                OR OLD.revoked_from IS NOT NULL
             BEGIN SELECT RAISE(ABORT, 'a certificate of the trust registry may only be revoked once'); END",
            "CREATE TRIGGER trust_lists_no_update BEFORE UPDATE ON trust_lists
             BEGIN SELECT RAISE(ABORT, 'published trust lists are append-only'); END",
            "CREATE TRIGGER trust_lists_no_delete BEFORE DELETE ON trust_lists
             BEGIN SELECT RAISE(ABORT, 'published trust lists are append-only'); END",
        ],
        postgres_only: &[
            "CREATE FUNCTION dcert_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $body$
             BEGIN RAISE EXCEPTION 'rows of the % table are never deleted', TG_TABLE_NAME; END $body$",
            "CREATE TRIGGER institutions_no_delete BEFORE DELETE ON institutions
             FOR EACH ROW EXECUTE FUNCTION dcert_never_deleted()",
            "CREATE TRIGGER institution_keys_no_delete BEFORE DELETE ON institution_keys
             FOR EACH ROW EXECUTE FUNCTION dcert_never_deleted()",
            "CREATE TRIGGER institution_certificates_no_delete BEFORE DELETE ON institution_certificates
             FOR EACH ROW EXECUTE FUNCTION dcert_never_deleted()",
            "CREATE FUNCTION dcert_institution_key_guard() RETURNS trigger LANGUAGE plpgsql AS $body$
             BEGIN
                 IF NEW.id IS DISTINCT FROM OLD.id OR NEW.institution IS DISTINCT FROM OLD.institution
                    OR NEW.public_key_multibase IS DISTINCT FROM OLD.public_key_multibase
                    OR NEW.valid_from IS DISTINCT FROM OLD.valid_from OR NEW.added_at IS DISTINCT FROM OLD.added_at
                    OR NEW.valid_until > OLD.valid_until
                    OR (OLD.revoked_from IS NOT NULL AND (NEW.revoked_from IS DISTINCT FROM OLD.revoked_from
                        OR NEW.revocation_reason IS DISTINCT FROM OLD.revocation_reason)) THEN
                     RAISE EXCEPTION 'a key of the trust registry may only be ended earlier or revoked once';
                 END IF;
                 RETURN NEW;
             END $body$",
            "CREATE TRIGGER institution_keys_guard BEFORE UPDATE ON institution_keys
             FOR EACH ROW EXECUTE FUNCTION dcert_institution_key_guard()",
            "CREATE FUNCTION dcert_institution_certificate_guard() RETURNS trigger LANGUAGE plpgsql AS $body$
             BEGIN
                 IF NEW.id IS DISTINCT FROM OLD.id OR NEW.institution IS DISTINCT FROM OLD.institution
                    OR NEW.der IS DISTINCT FROM OLD.der OR NEW.sha256 IS DISTINCT FROM OLD.sha256
                    OR NEW.not_before IS DISTINCT FROM OLD.not_before OR NEW.not_after IS DISTINCT FROM OLD.not_after
                    OR NEW.added_at IS DISTINCT FROM OLD.added_at OR OLD.revoked_from IS NOT NULL THEN
                     RAISE EXCEPTION 'a certificate of the trust registry may only be revoked once';
                 END IF;
                 RETURN NEW;
             END $body$",
            "CREATE TRIGGER institution_certificates_guard BEFORE UPDATE ON institution_certificates
             FOR EACH ROW EXECUTE FUNCTION dcert_institution_certificate_guard()",
            "CREATE TRIGGER trust_lists_append_only BEFORE UPDATE OR DELETE ON trust_lists
             FOR EACH ROW EXECUTE FUNCTION dcert_append_only()",
        ],
    },
    Migration {
        part: Part::Ministry,
        version: 4,
        name: "one issued file per certificate version",
        statements: &[
            // Two files for the same certificate, language and version would both verify as
            // current: the database refuses the second, whatever races the checks lose.
            "CREATE UNIQUE INDEX registry_records_one_file_per_version ON registry_records \
             (institution, number, language, version) WHERE event = 'issued'",
        ],
        sqlite_only: &[],
        postgres_only: &[],
    },
    Migration {
        part: Part::Ministry,
        version: 5,
        name: "teacher certificate files",
        statements: &[
            // Every teacher certificate the Ministry's console issued, byte for byte, written in
            // the transaction of its registry record: a file registered is a file kept, and one
            // whose download was lost can be downloaded again. Never changed, never deleted.
            "CREATE TABLE teacher_certificates (
                id {id},
                institution TEXT NOT NULL,
                number TEXT NOT NULL,
                language TEXT NOT NULL,
                version BIGINT NOT NULL,
                sha256 TEXT NOT NULL UNIQUE,
                file {blob} NOT NULL,
                issued_at BIGINT NOT NULL,
                issued_by TEXT NOT NULL,
                UNIQUE (number, language, version, institution)
            )",
        ],
        sqlite_only: &[
            "CREATE TRIGGER teacher_certificates_no_update BEFORE UPDATE ON teacher_certificates
             BEGIN SELECT RAISE(ABORT, 'teacher certificate files are append-only'); END",
            "CREATE TRIGGER teacher_certificates_no_delete BEFORE DELETE ON teacher_certificates
             BEGIN SELECT RAISE(ABORT, 'teacher certificate files are append-only'); END",
        ],
        postgres_only: &[
            "CREATE TRIGGER teacher_certificates_append_only BEFORE UPDATE OR DELETE ON teacher_certificates
             FOR EACH ROW EXECUTE FUNCTION dcert_append_only()",
        ],
    },
    Migration {
        part: Part::University,
        version: 6,
        name: "certificate files stored as they are",
        statements: &[],
        sqlite_only: &[],
        // A certificate is a compressed PDF: PostgreSQL's own compression of large values would
        // spend the server's CPU for nothing on every file stored.
        postgres_only: &["ALTER TABLE certificates ALTER COLUMN file SET STORAGE EXTERNAL"],
    },
    Migration {
        part: Part::Ministry,
        version: 6,
        name: "institutions' contacts",
        // Whom a verifier calls about a certificate of an institution: shown on warning and
        // failure pages. Kept beside the registry's signed details, not in the trust list.
        statements: &["CREATE TABLE institution_contacts (
                institution TEXT PRIMARY KEY REFERENCES institutions (id),
                office_zh TEXT NOT NULL,
                office_en TEXT NOT NULL,
                phone TEXT NOT NULL,
                website TEXT NOT NULL,
                updated_at BIGINT NOT NULL
            )"],
        sqlite_only: &[],
        postgres_only: &[],
    },
    Migration {
        part: Part::Ministry,
        version: 7,
        name: "the transparency log's leaves",
        // Leaf `idx` of the log is the registry record `record_id`, hashed as
        // `dcert_core::tlog::LogEntry` (hex). Written in the record's transaction, in the order
        // records commit; never changed.
        statements: &["CREATE TABLE log_leaves (
                idx BIGINT PRIMARY KEY,
                record_id BIGINT NOT NULL UNIQUE REFERENCES registry_records (id),
                leaf TEXT NOT NULL
            )"],
        sqlite_only: &[
            "CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves
             BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END",
            "CREATE TRIGGER log_leaves_no_delete BEFORE DELETE ON log_leaves
             BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END",
        ],
        postgres_only: &["CREATE TRIGGER log_leaves_append_only BEFORE UPDATE OR DELETE ON log_leaves
             FOR EACH ROW EXECUTE FUNCTION dcert_append_only()"],
    },
    Migration {
        part: Part::Ministry,
        version: 8,
        name: "the registry knows a file's credential too",
        // SHA-256 of the file's embedded credential.json (lowercase hex), on issued records the
        // institution sent it with: a bare credential's status is answered by it.
        statements: &[
            "ALTER TABLE registry_records ADD COLUMN credential_sha256 TEXT",
            "CREATE INDEX registry_records_credential ON registry_records (credential_sha256)",
        ],
        sqlite_only: &[],
        postgres_only: &[],
    },
];

/// Rewrites the placeholders of a statement for a backend.
pub(crate) fn dialect(statement: &str, backend: Backend) -> String {
    let (id, blob) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY", "BLOB"),
        Backend::Postgres => ("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "BYTEA"),
    };
    statement.replace("{id}", id).replace("{blob}", blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_numbers_its_migrations_once_and_new_ones_come_after_the_earlier_release() {
        for part in [Part::Shared, Part::University, Part::Ministry] {
            let versions: Vec<i64> = MIGRATIONS.iter().filter(|m| m.part == part).map(|m| m.version).collect();
            assert!(versions.windows(2).all(|w| w[0] < w[1]), "{part:?}: {versions:?}");
        }
        // A database of the earlier release is adopted as holding every migration up to its
        // version: a migration written since must come after it, or it would never run there.
        let newest = MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0);
        assert!(newest > LEGACY_VERSION, "the migrations written since are numbered after {LEGACY_VERSION}");
    }
}
