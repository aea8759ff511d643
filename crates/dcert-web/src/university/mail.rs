//! Email: the messages the university sends, the SMTP client, and the delivery loop over the store's outbox.
//!
//! Every message is written in Traditional Chinese first, then English, and all of their texts live in
//! this module ([`certificate_email`], [`address_confirmation_email`]). Issuance queues them in the
//! store's outbox in the same transaction that stores the file; [`deliver_due`] sends what is due, one
//! message at a time, with the certificate file attached byte for byte, and retries with backoff
//! ([`retry_delay`]).
//!
//! The client speaks plain SMTP to a relay that the institution runs next to the application (usually
//! on the same host or network): encryption towards the recipients' servers (STARTTLS, DANE, MTA-STS)
//! is the relay's job, not this program's. Personal data (addresses, names, bodies) is never logged:
//! the log names the outbox id and the kind of error only.

use std::fmt;
use std::time::Duration;

use dcert_core::model::Language;
use dcert_store::{NewEmail, OutboxMessage, StoreError, UniversityStore};
use lettre::message::header::{ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MaybeString, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

/// The kind of outbox message that carries a certificate file.
pub const KIND_CERTIFICATE: &str = "certificate";

/// The kind of outbox message that asks a graduate to confirm a new permanent address.
pub const KIND_CONFIRM_ADDRESS: &str = "confirm_address";

/// The longest wait between two attempts: six hours.
pub const MAX_RETRY_DELAY: i64 = 6 * 60 * 60;

/// The number of attempts after which a message fails for good.
pub const MAX_ATTEMPTS: i64 = 12;

/// How to reach the SMTP relay, as written under `[smtp]` in the configuration file.
///
/// The connection is plain SMTP (no TLS) to a relay the institution runs; see the module documentation.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name or IP address.
    pub host: String,
    /// The relay's port (25 unless set).
    #[serde(default = "default_port")]
    pub port: u16,
    /// The sender, e.g. `國立高雄科技大學 <no-reply@nkust.edu.tw>`.
    pub from: String,
    /// The user name, when the relay asks for authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// The password, when the relay asks for authentication. It is never printed.
    #[serde(default)]
    pub password: Option<String>,
    /// How long to wait for the relay's answer to each command, in seconds (30 unless set).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_port() -> u16 {
    25
}

fn default_timeout() -> u64 {
    30
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

/// Everything that can go wrong when building or sending an email.
///
/// The messages name no address, name or body, except the relay's own words in an [`MailError::Smtp`]
/// answer, which may repeat the recipient's address: store the message with the email it belongs to,
/// but log only [`MailError::kind`] and [`MailError::code`].
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The configured sender (`from`) is not a valid mailbox.
    #[error("the configured sender address is not valid: {0}")]
    InvalidSender(#[source] lettre::address::AddressError),
    /// The recipient is not a valid address; sending it again cannot help.
    #[error("the recipient address is not valid: {0}")]
    InvalidRecipient(#[source] lettre::address::AddressError),
    /// The message could not be put together (a header or the attachment was refused).
    #[error("the message could not be built: {0}")]
    Build(String),
    /// The SMTP exchange failed: the relay could not be reached, timed out, or answered with an error.
    #[error("SMTP: {0}")]
    Smtp(#[source] lettre::transport::smtp::Error),
}

impl MailError {
    /// Whether sending the same message again cannot succeed, so that it fails for good at once.
    ///
    /// That is an invalid recipient, a message that cannot be built, or a permanent (5xx) answer of the
    /// relay, except the answers that point at this side's configuration or at the conversation itself
    /// (500–504: command errors; 530, 534, 535, 538: authentication), which are retried so that fixing
    /// the configuration delivers the waiting messages instead of failing a whole batch.
    pub fn is_permanent(&self) -> bool {
        match self {
            MailError::InvalidRecipient(_) | MailError::Build(_) => true,
            MailError::InvalidSender(_) => false,
            MailError::Smtp(e) => {
                e.is_permanent() && !matches!(self.code(), Some(500..=504 | 530 | 534 | 535 | 538) | None)
            }
        }
    }

    /// The SMTP reply code of an error answer (e.g. 451, 550), when the relay gave one.
    pub fn code(&self) -> Option<u16> {
        match self {
            MailError::Smtp(e) => e.status().map(u16::from),
            _ => None,
        }
    }

    /// A short word for the log that tells the kind of error without any personal data.
    pub fn kind(&self) -> &'static str {
        match self {
            MailError::InvalidSender(_) => "invalid_sender",
            MailError::InvalidRecipient(_) => "invalid_recipient",
            MailError::Build(_) => "build",
            MailError::Smtp(e) if e.is_permanent() => "smtp_permanent",
            MailError::Smtp(e) if e.is_transient() => "smtp_transient",
            MailError::Smtp(e) if e.is_timeout() => "timeout",
            MailError::Smtp(e) if e.is_response() => "smtp_response",
            MailError::Smtp(e) if e.is_client() => "smtp_client",
            MailError::Smtp(_) => "connection",
        }
    }
}

/// A file attached to an email: a certificate, sent as `application/pdf` in base64 so that it arrives
/// byte for byte.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name shown to the recipient (ASCII, see [`attachment_name`]).
    pub filename: String,
    /// The exact bytes of the file.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment").field("filename", &self.filename).field("size", &self.bytes.len()).finish()
    }
}

/// One email to send: a plain-text UTF-8 body and at most one attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The recipient's address.
    pub to: String,
    /// The subject (UTF-8; encoded for the header as RFC 2047 requires).
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// The file attached, if any.
    pub attachment: Option<Attachment>,
}

impl OutgoingEmail {
    /// The outgoing form of a queued message, with the attachment the caller loaded.
    pub fn from_outbox(message: &OutboxMessage, attachment: Option<Attachment>) -> OutgoingEmail {
        OutgoingEmail {
            to: message.to.clone(),
            subject: message.subject.clone(),
            body: message.body.clone(),
            attachment,
        }
    }

    /// Builds the MIME message from `from`: the body as `text/plain; charset=utf-8`, and the attachment
    /// (if any) as `application/pdf`, base64, `Content-Disposition: attachment`, in a `multipart/mixed`.
    pub fn to_message(&self, from: &Mailbox) -> Result<Message, MailError> {
        let to: Mailbox = self.to.parse().map_err(MailError::InvalidRecipient)?;
        let builder = Message::builder().from(from.clone()).to(to).subject(self.subject.clone());
        // Base64 for the text as well: Chinese text is shorter in base64 than in quoted-printable, and
        // every relay passes it unchanged.
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(base64_body(self.body.clone())?);
        let built = match &self.attachment {
            None => builder.singlepart(text),
            Some(a) => {
                if !is_safe_filename(&a.filename) {
                    return Err(MailError::Build("the attachment's file name must be plain ASCII".into()));
                }
                let file = SinglePart::builder()
                    .header(AttachmentDisposition(a.filename.clone()))
                    .header(ContentType::parse("application/pdf").map_err(|e| MailError::Build(e.to_string()))?)
                    .body(base64_body(a.bytes.clone())?);
                builder.multipart(MultiPart::mixed().singlepart(text).singlepart(file))
            }
        };
        built.map_err(|e| MailError::Build(e.to_string()))
    }
}

/// Whether `name` can stand in a quoted header parameter as it is: 1 to 100 characters, letters, digits,
/// `-`, `_` and `.`.
fn is_safe_filename(name: &str) -> bool {
    (1..=100).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// `Content-Disposition: attachment; filename="NAME"` with the name as one plain quoted string.
///
/// lettre's own header switches to an RFC 2231 continuation (`filename*0="..."`) for names longer than
/// about 30 characters, which some mail clients show as an unnamed attachment; certificate file names are
/// that long. The name must pass [`is_safe_filename`].
#[derive(Clone, Debug)]
struct AttachmentDisposition(String);

impl Header for AttachmentDisposition {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Disposition")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        s.strip_prefix("attachment; filename=\"")
            .and_then(|rest| rest.strip_suffix('"'))
            .filter(|name| is_safe_filename(name))
            .map(|name| AttachmentDisposition(name.to_owned()))
            .ok_or_else(|| "not an attachment with a plain file name".into())
    }

    fn display(&self) -> HeaderValue {
        let raw = format!("attachment; filename=\"{}\"", self.0);
        // Fold before the parameter when the line would pass 76 characters.
        let encoded = if "Content-Disposition: ".len() + raw.len() <= 76 {
            raw.clone()
        } else {
            format!("attachment;\r\n filename=\"{}\"", self.0)
        };
        HeaderValue::dangerous_new_pre_encoded(Self::name(), raw, encoded)
    }
}

/// A base64 body: a `String` has its line ends made CRLF first (the canonical form of text), bytes stay
/// exactly as they are.
fn base64_body(bytes: impl Into<MaybeString>) -> Result<Body, MailError> {
    Body::new_with_encoding(bytes, ContentTransferEncoding::Base64)
        .map_err(|_| MailError::Build("the body cannot be encoded as base64".into()))
}

/// The SMTP client: a connection to the relay for each message, and the sender's mailbox.
///
/// The connection is plain SMTP, on purpose: the relay is the institution's own, next to the
/// application, and it is the relay that encrypts towards the recipients' servers.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    host: String,
    port: u16,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer").field("host", &self.host).field("port", &self.port).finish_non_exhaustive()
    }
}

impl Mailer {
    /// A client for the relay `config` names. Nothing is sent and no connection is made yet.
    pub fn new(config: &SmtpConfig) -> Result<Mailer, MailError> {
        let from: Mailbox = config.from.parse().map_err(MailError::InvalidSender)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
            .port(config.port)
            .timeout(Some(Duration::from_secs(config.timeout_seconds.max(1))));
        if let Some(username) = &config.username {
            let password = config.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(username.clone(), password));
        }
        Ok(Mailer { transport: builder.build(), from, host: config.host.clone(), port: config.port })
    }

    /// The sender's mailbox.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Sends one email and returns the relay's answer, e.g. `250 OK: queued as 12345`.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let message = email.to_message(&self.from)?;
        let response = self.transport.send(message).await.map_err(MailError::Smtp)?;
        let text = response.message().collect::<Vec<_>>().join(" ");
        Ok(if text.is_empty() { response.code().to_string() } else { format!("{} {text}", response.code()) })
    }
}

/// How long to wait before the next attempt, in seconds, after `attempts_so_far` failed attempts
/// (counting the one that just failed); `None` once the message should fail for good.
///
/// The schedule doubles from one minute and stops growing at six hours: after the 1st failure 60 s,
/// then 120, 240, 480, 960, 1920, 3840, 7680, 15360 s (about 4 h 16 min), then 6 h twice. After the
/// 12th failed attempt the message fails, about 20.5 hours after the first; the office can resend it.
pub fn retry_delay(attempts_so_far: i64) -> Option<i64> {
    if attempts_so_far >= MAX_ATTEMPTS {
        return None;
    }
    let doublings = attempts_so_far.clamp(1, 20) - 1;
    Some((60_i64 << doublings).min(MAX_RETRY_DELAY))
}

/// The file name of a certificate attachment, e.g. `NKUST-113-2-C110123456-zh-v1.pdf`.
///
/// Only ASCII letters, digits, `-` and `_` are kept from the number; anything else becomes a single
/// `-`, and at most 48 of them, so that every mail client and file system accepts the name as it is.
pub fn attachment_name(number: &str, language: Language, version: u32) -> String {
    let mut safe = String::with_capacity(number.len());
    for c in number.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            safe.push(c);
        } else if !safe.is_empty() && !safe.ends_with('-') {
            safe.push('-');
        }
    }
    let mut safe = safe.trim_end_matches('-');
    if safe.len() > 48 {
        safe = safe[..48].trim_end_matches('-');
    }
    let stem = if safe.is_empty() { "certificate" } else { safe };
    format!("{stem}-{}-v{version}.pdf", language.code())
}

/// The email that carries a certificate file to one of the graduate's addresses (kind `certificate`).
///
/// The subject names the school and the kind of certificate in both languages (英文數位學位證書 for an
/// English certificate, 補發 / reissued for a version after the first). The body greets the graduate,
/// says the certificate is attached, asks to keep the original file unchanged (printing it to PDF or
/// editing it makes verification fail), tells how to verify it at `verify_site`, and whom to contact.
#[allow(clippy::too_many_arguments)]
pub fn certificate_email(
    school_zh: &str,
    school_en: &str,
    name_zh: &str,
    name_en: &str,
    language: Language,
    version: u32,
    number: &str,
    to: &str,
    verify_site: &str,
) -> NewEmail {
    let reissued = version > 1;
    let (kind_zh, kind_en) = match language {
        Language::Zh => ("數位學位證書", "digital degree certificate"),
        Language::En => ("英文數位學位證書", "digital degree certificate (English)"),
    };
    let subject = if reissued {
        format!("{school_zh}{kind_zh}（補發，第 {version} 版） / {school_en} {kind_en}, reissued (version {version})")
    } else {
        format!("{school_zh}{kind_zh} / {school_en} {kind_en}")
    };
    let reissue_zh = if reissued {
        "這是補發的新版本：舊版本已由這一版取代，驗證舊檔案時會顯示「認證警告」。請改用這一版。\n\n"
    } else {
        ""
    };
    let reissue_en = if reissued {
        "This is a reissued, new version: it replaces the previous one, and verifying the old file now \
         gives a warning. Please use this version from now on.\n\n"
    } else {
        ""
    };
    let body = format!(
        "{name_zh} 您好：\n\
         \n\
         附件是您的{school_zh}{kind_zh}（證書編號 {number}，第 {version} 版）。\n\
         \n\
         {reissue_zh}\
         請妥善保存這個原始檔案。請勿將它列印成 PDF、另存新檔，或以任何軟體開啟後編輯、儲存：\
         檔案只要有任何改變，驗證就會失敗。需要證明學歷時，請直接提供這個原始附件。\n\
         \n\
         驗證方式：請至 {verify_site} 上傳檔案，即可確認證書確實由本校核發且未經修改。\n\
         \n\
         若證書內容有誤，或有任何問題，請與您所屬校區的綜合業務處聯絡。\n\
         \n\
         {school_zh}\n\
         \n\
         ----------------------------------------\n\
         \n\
         Dear {name_en},\n\
         \n\
         Attached is your {kind_en} from {school_en} (certificate number {number}, version {version}).\n\
         \n\
         {reissue_en}\
         Please keep this original file. Do not print it to PDF, save it as a new file, or open and save it \
         in any program: any change to the file makes verification fail. When you need to prove your degree, \
         send this original attachment.\n\
         \n\
         To verify it, upload the file at {verify_site}: the result shows that the certificate was issued by \
         the university and has not been changed.\n\
         \n\
         If anything on the certificate is wrong, or if you have a question, please contact the office of \
         your campus.\n\
         \n\
         {school_en}\n"
    );
    NewEmail { kind: KIND_CERTIFICATE.into(), to: to.into(), subject, body }
}

/// The email that asks a graduate to confirm a new permanent address by opening `link` (kind
/// `confirm_address`); whoever did not ask for the change may ignore it.
pub fn address_confirmation_email(school_zh: &str, school_en: &str, to: &str, link: &str) -> NewEmail {
    let subject =
        format!("{school_zh}：請確認您的永久電子信箱 / {school_en}: please confirm your permanent email address");
    let body = format!(
        "您好：\n\
         \n\
         有人在{school_zh}畢業離校作業系統中，將這個信箱設定為畢業生的永久電子信箱（信箱2）。\
         若這是您的申請，請開啟以下連結確認；確認後，您的數位學位證書也會寄到這個信箱。\n\
         \n\
         {link}\n\
         \n\
         這個連結只能使用一次，並有使用期限。若您沒有提出這項申請，請忽略本信，系統不會做任何變更。\n\
         \n\
         {school_zh}\n\
         \n\
         ----------------------------------------\n\
         \n\
         Hello,\n\
         \n\
         This address was entered as a graduate's permanent email address in the departure portal of \
         {school_en}. If you asked for this, please open the link below to confirm it; once confirmed, your \
         digital degree certificates are sent to this address too.\n\
         \n\
         {link}\n\
         \n\
         The link works once and expires after a while. If you did not ask for this, please ignore this \
         message: nothing will change.\n\
         \n\
         {school_en}\n"
    );
    NewEmail { kind: KIND_CONFIRM_ADDRESS.into(), to: to.into(), subject, body }
}

/// What one round of [`deliver_due`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Messages the relay accepted.
    pub sent: usize,
    /// Messages that failed this time and wait for another attempt.
    pub retried: usize,
    /// Messages that failed for good (a permanent rejection, or the last attempt).
    pub failed: usize,
}

/// Sends the outbox messages due at `now` (at most `limit`), one after the other, and records each
/// outcome in the store: sent, retried later ([`retry_delay`]), or failed for good.
///
/// A certificate message gets its file attached exactly as stored. A transient error (the relay is
/// unreachable or times out, a 4xx answer) is retried; a permanent rejection ([`MailError::is_permanent`])
/// fails the message at once, and so does the 12th failed attempt. Only the outbox id and the kind of
/// error are logged, never an address, a name or a body. A store error ends the round early: what was
/// recorded before stays recorded.
///
/// Delivery is at least once, not exactly once. The store marks only pending messages sent, and this
/// loop never sends a message it has marked sent, but if the process stops between the relay's `250`
/// and the store's update, the message is sent again on the next round: without the relay's help (it
/// would have to remember and drop duplicates) no client can avoid that. The outbox has no claim of a
/// message either, so run one delivery loop per database: two loops that pick the same due message at
/// the same moment both send it.
pub async fn deliver_due(
    store: &UniversityStore,
    mailer: &Mailer,
    now: i64,
    limit: i64,
) -> Result<DeliveryRound, StoreError> {
    let mut round = DeliveryRound::default();
    for message in store.due_emails(now, limit).await? {
        let attachment = match load_attachment(store, &message).await? {
            Ok(attachment) => attachment,
            Err(problem) => {
                tracing::error!(outbox = message.id, error = problem, "email failed for good");
                store.email_attempt_failed(message.id, problem, None, now).await?;
                round.failed += 1;
                continue;
            }
        };
        let outgoing = OutgoingEmail::from_outbox(&message, attachment);
        match mailer.send(&outgoing).await {
            Ok(answer) => {
                if !store.email_sent(message.id, &answer, now).await? {
                    tracing::warn!(outbox = message.id, "email sent, but another process had already marked it");
                }
                tracing::info!(outbox = message.id, "email sent");
                round.sent += 1;
            }
            Err(e) => {
                let attempts = message.attempts.saturating_add(1);
                let retry_at = if e.is_permanent() { None } else { retry_delay(attempts).map(|d| now + d) };
                store.email_attempt_failed(message.id, &e.to_string(), retry_at, now).await?;
                match retry_at {
                    Some(at) => {
                        tracing::warn!(
                            outbox = message.id,
                            kind = e.kind(),
                            code = e.code(),
                            attempts,
                            retry_at = at,
                            "email attempt failed, will retry"
                        );
                        round.retried += 1;
                    }
                    None => {
                        tracing::error!(
                            outbox = message.id,
                            kind = e.kind(),
                            code = e.code(),
                            attempts,
                            "email failed for good"
                        );
                        round.failed += 1;
                    }
                }
            }
        }
    }
    Ok(round)
}

/// The attachment of a queued message: the certificate file for kind `certificate`, nothing otherwise.
/// The inner `Err` says why a certificate message cannot be sent at all.
pub(crate) async fn load_attachment(
    store: &UniversityStore,
    message: &OutboxMessage,
) -> Result<Result<Option<Attachment>, &'static str>, StoreError> {
    if message.kind != KIND_CERTIFICATE {
        return Ok(Ok(None));
    }
    let Some(id) = message.certificate_id else {
        return Ok(Err("a certificate email without a certificate"));
    };
    let Some(info) = store.certificate(id).await? else {
        return Ok(Err("the certificate of this email no longer exists"));
    };
    let bytes = match store.certificate_file(id).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => return Ok(Err("the certificate of this email no longer exists")),
        Err(e) => return Err(e),
    };
    Ok(Ok(Some(Attachment { filename: attachment_name(&info.number, info.language, info.version), bytes })))
}

#[cfg(test)]
mod tests {
    use base64ct::Encoding as _;

    use super::*;

    const SCHOOL_ZH: &str = "國立高雄科技大學";
    const SCHOOL_EN: &str = "National Kaohsiung University of Science and Technology";

    fn sample(language: Language, version: u32) -> NewEmail {
        certificate_email(
            SCHOOL_ZH,
            SCHOOL_EN,
            "王𪚥",
            "WANG, HSIAO-MING",
            language,
            version,
            "NKUST-113-2-C110123456",
            "c110123456@nkust.edu.tw",
            "https://verify.example.test",
        )
    }

    #[test]
    fn retries_double_from_a_minute_up_to_six_hours_and_stop_after_twelve_attempts() {
        let schedule: Vec<Option<i64>> = (1..=13).map(retry_delay).collect();
        let expected = [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600];
        assert_eq!(&schedule[..11], expected.map(Some).as_slice());
        assert_eq!(schedule[11], None, "the 12th failure is the last");
        assert_eq!(schedule[12], None);
        assert_eq!(retry_delay(0), Some(60));
        assert_eq!(retry_delay(-5), Some(60));
        assert_eq!(retry_delay(i64::MAX), None);
        assert_eq!(expected.iter().sum::<i64>(), 73_860, "about 20.5 hours from the first failure to the last");
    }

    #[test]
    fn attachment_names_are_plain_ascii() {
        assert_eq!(attachment_name("NKUST-113-2-C110123456", Language::Zh, 1), "NKUST-113-2-C110123456-zh-v1.pdf");
        assert_eq!(attachment_name("NKUST-1132-000123", Language::En, 3), "NKUST-1132-000123-en-v3.pdf");
        assert_eq!(attachment_name("(114)高科大/字 第12號", Language::Zh, 2), "114-12-zh-v2.pdf");
        assert_eq!(attachment_name("../../etc/passwd", Language::Zh, 1), "etc-passwd-zh-v1.pdf");
        assert_eq!(attachment_name("高科大", Language::En, 1), "certificate-en-v1.pdf");
        let long = attachment_name(&"1234567-".repeat(20), Language::Zh, u32::MAX);
        assert_eq!(long, format!("{}1234567-zh-v4294967295.pdf", "1234567-".repeat(5)), "at most 48 from the number");
        for name in [attachment_name("a\r\nb\"c;d", Language::Zh, 1), attachment_name("", Language::Zh, 1), long] {
            assert!(is_safe_filename(&name), "{name}");
        }
    }

    #[test]
    fn the_certificate_email_names_the_number_in_both_languages() {
        let email = sample(Language::Zh, 1);
        assert_eq!(email.kind, "certificate");
        assert_eq!(email.to, "c110123456@nkust.edu.tw");
        assert_eq!(
            email.subject,
            "國立高雄科技大學數位學位證書 / National Kaohsiung University of Science and Technology digital degree \
             certificate"
        );
        let (zh, en) = email.body.split_once("Dear ").expect("a Chinese part, then an English one");
        for part in [zh, en] {
            assert!(part.contains("NKUST-113-2-C110123456"), "{part}");
            assert!(part.contains("https://verify.example.test"), "{part}");
        }
        assert!(zh.contains("王𪚥") && zh.contains("請勿將它列印成 PDF") && zh.contains("綜合業務處"));
        assert!(en.contains("WANG, HSIAO-MING") && en.contains("Do not print it to PDF"));
        assert!(!email.body.contains("補發") && !email.body.contains("reissued"));
    }

    #[test]
    fn english_and_reissued_certificates_say_so_in_the_subject() {
        let en = sample(Language::En, 1);
        assert!(en.subject.contains("英文數位學位證書") && en.subject.contains("(English)"), "{}", en.subject);
        let again = sample(Language::Zh, 2);
        assert!(again.subject.contains("補發") && again.subject.contains("reissued"), "{}", again.subject);
        assert!(again.body.contains("第 2 版") && again.body.contains("version 2"));
        assert!(again.body.contains("補發") && again.body.contains("reissued"));
    }

    #[test]
    fn the_address_confirmation_carries_the_link_in_both_languages() {
        let email = address_confirmation_email(SCHOOL_ZH, SCHOOL_EN, "me@example.org", "https://x.test/c?t=abc");
        assert_eq!(email.kind, "confirm_address");
        assert_eq!(email.body.matches("https://x.test/c?t=abc").count(), 2);
        assert!(email.body.contains("請忽略本信") && email.body.contains("ignore this message"));
    }

    #[test]
    fn the_password_is_not_printed() {
        let config: SmtpConfig = serde_json::from_value(serde_json::json!({
            "host": "relay.nkust.edu.tw", "from": "no-reply@nkust.edu.tw", "username": "dcert", "password": "hunter2"
        }))
        .unwrap();
        assert_eq!((config.port, config.timeout_seconds), (25, 30), "the defaults");
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2") && printed.contains("\"***\""), "{printed}");
        let mailer = Mailer::new(&config).unwrap();
        assert!(!format!("{mailer:?}").contains("hunter2"));
        let bad = SmtpConfig { from: "not an address".into(), ..config };
        assert!(matches!(Mailer::new(&bad), Err(MailError::InvalidSender(_))));
    }

    #[test]
    fn an_invalid_recipient_is_a_permanent_error_that_names_no_address() {
        let from: Mailbox = "國立高雄科技大學 <no-reply@nkust.edu.tw>".parse().unwrap();
        let email = OutgoingEmail {
            to: "secret-name at nowhere".into(),
            subject: "s".into(),
            body: "b".into(),
            attachment: None,
        };
        let e = email.to_message(&from).unwrap_err();
        assert!(e.is_permanent());
        assert!(!e.to_string().contains("secret-name"), "{e}");
    }

    #[test]
    fn an_attachment_name_that_could_break_the_header_is_refused() {
        let from: Mailbox = "no-reply@nkust.edu.tw".parse().unwrap();
        let mut email = OutgoingEmail {
            to: "a@example.org".into(),
            subject: "s".into(),
            body: "b".into(),
            attachment: Some(Attachment { filename: "a.pdf\"\r\nBcc: x@example.org".into(), bytes: vec![1] }),
        };
        assert!(matches!(email.to_message(&from), Err(MailError::Build(_))));
        email.attachment = Some(Attachment { filename: "a-zh-v1.pdf".into(), bytes: vec![1] });
        let formatted = String::from_utf8(email.to_message(&from).unwrap().formatted()).unwrap();
        assert!(formatted.contains("Content-Disposition: attachment; filename=\"a-zh-v1.pdf\"\r\n"), "one line");
        let long = attachment_name(&"NKUST-".repeat(10), Language::En, 12);
        email.attachment = Some(Attachment { filename: long.clone(), bytes: vec![1] });
        let formatted = String::from_utf8(email.to_message(&from).unwrap().formatted()).unwrap();
        let folded = format!("Content-Disposition: attachment;\r\n filename=\"{long}\"\r\n");
        assert!(formatted.contains(&folded), "folded before the parameter, never split: {formatted}");
    }

    /// The base64 text of the part whose headers contain `marker`, decoded.
    fn decoded_part(formatted: &str, marker: &str) -> Vec<u8> {
        let start = formatted.find(marker).expect("the part is there");
        let after_headers = start + formatted[start..].find("\r\n\r\n").expect("the part's headers end") + 4;
        let text = &formatted[after_headers..];
        let end = text.find("\r\n--").expect("the boundary closes the part");
        let b64: String = text[..end].chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64ct::Base64::decode_vec(&b64).expect("valid base64")
    }

    #[test]
    fn the_attachment_is_base64_and_decodes_to_the_exact_bytes() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(70_001).chain(*b"\r\n.\r\n%%EOF\n\x00\r").collect();
        let email = sample(Language::Zh, 1);
        let outgoing = OutgoingEmail {
            to: email.to.clone(),
            subject: email.subject.clone(),
            body: email.body.clone(),
            attachment: Some(Attachment {
                filename: attachment_name("NKUST-113-2-C110123456", Language::Zh, 1),
                bytes,
            }),
        };
        let from: Mailbox = "國立高雄科技大學 <no-reply@nkust.edu.tw>".parse().unwrap();
        let formatted = String::from_utf8(outgoing.to_message(&from).unwrap().formatted()).expect("ASCII on the wire");
        assert!(formatted.is_ascii(), "everything is encoded for 7-bit transport");
        let disposition = "Content-Disposition: attachment; filename=\"NKUST-113-2-C110123456-zh-v1.pdf\"\r\n";
        assert!(formatted.contains(disposition), "a plain file name: {formatted:.3000}");
        assert!(formatted.contains("Content-Type: application/pdf"));
        let attached = decoded_part(&formatted, disposition);
        assert_eq!(attached, outgoing.attachment.as_ref().unwrap().bytes, "the file arrives byte for byte");
        let text = decoded_part(&formatted, "Content-Type: text/plain; charset=utf-8");
        assert_eq!(String::from_utf8(text).unwrap(), email.body.replace('\n', "\r\n"));
        let subject_line = formatted.lines().find(|l| l.starts_with("Subject:")).unwrap();
        assert!(subject_line.contains("=?utf-8?b?"), "the Chinese subject is RFC 2047 encoded: {subject_line}");
    }
}
