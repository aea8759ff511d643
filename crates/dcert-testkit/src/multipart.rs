//! A `multipart/form-data` body, as a browser sends a form with files.

/// The boundary between the parts.
const BOUNDARY: &str = "dcert-test-boundary";

/// A `multipart/form-data` body, built part by part.
#[derive(Debug, Default)]
pub struct Multipart {
    body: Vec<u8>,
}

impl Multipart {
    /// A body with no parts yet.
    pub fn new() -> Multipart {
        Multipart::default()
    }

    /// Adds the field `name` with `value`.
    pub fn field(mut self, name: &str, value: &[u8]) -> Multipart {
        let head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n");
        self.part(&head, value);
        self
    }

    /// Adds the field `name` holding a file named `file_name` of `content_type`.
    pub fn file(mut self, name: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> Multipart {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        );
        self.part(&head, bytes);
        self
    }

    fn part(&mut self, head: &str, bytes: &[u8]) {
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
    }

    /// The request's `Content-Type` and the body, closed.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={BOUNDARY}"), self.body)
    }
}
