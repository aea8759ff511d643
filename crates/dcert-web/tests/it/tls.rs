//! Outbound TLS against a local HTTPS server whose certificate a test authority issued (made with
//! the openssl command): trusted, the request goes through; an unknown authority, plain HTTP to
//! another machine and a certificate for another name are refused with a clear error.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use dcert_web::http::outbound::{Outbound, check_address};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::TempDir;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed for this test (Debian package openssl; scripts/test installs it)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A certificate authority `name` in `dir`: `name.pem` and `name.key`.
fn authority(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=dcert test {name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// A server certificate for localhost (and no other name) issued by the authority `ca`.
fn server_certificate(dir: &Path, ca: &str) {
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
    );
}

/// An HTTPS server on a free port answering every request with `hello`.
async fn https_server(dir: &Path) -> u16 {
    let certs = CertificateDer::pem_file_iter(dir.join("server.pem")).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

async fn get(outbound: &Outbound, url: &str) -> Result<(StatusCode, Bytes), String> {
    outbound
        .request(Method::GET, url, HeaderMap::new(), Bytes::new())
        .await
        .map(|(s, _, b)| (s, b))
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn https_to_a_server_of_a_trusted_authority_works_and_an_unknown_authority_is_refused() {
    let dir = TempDir::new("tls");
    authority(&dir.0, "trusted");
    authority(&dir.0, "other");
    server_certificate(&dir.0, "trusted");
    let port = https_server(&dir.0).await;

    let trusting = Outbound::with_ca_bundle(&dir.0.join("trusted.pem")).unwrap();
    let (status, body) = get(&trusting, &format!("https://localhost:{port}/api/v1/issuers")).await.unwrap();
    assert_eq!((status, body.as_ref()), (StatusCode::OK, b"hello".as_ref()));

    let other = Outbound::with_ca_bundle(&dir.0.join("other.pem")).unwrap();
    let refused = get(&other, &format!("https://localhost:{port}/")).await.unwrap_err();
    assert!(refused.contains("not issued by a certificate authority this machine trusts"), "{refused}");

    // The certificate names localhost, not the address the same server is reached at here.
    let renamed = get(&trusting, &format!("https://127.0.0.1:{port}/")).await.unwrap_err();
    assert!(renamed.contains("not valid") && renamed.contains("127.0.0.1"), "{renamed}");
}

#[tokio::test]
async fn plain_http_is_refused_except_to_this_machine() {
    assert_eq!(check_address("https://dcert.moe.gov.tw"), Ok(true));
    for local in ["http://localhost:8081", "http://127.0.0.1:8081/api", "http://[::1]:8081"] {
        assert_eq!(check_address(local), Ok(false), "{local}");
    }
    for remote in ["http://dcert.moe.gov.tw", "http://10.0.0.5:8081", "ftp://localhost/"] {
        let refused = check_address(remote).unwrap_err().to_string();
        assert!(refused.contains("https://"), "{remote}: {refused}");
    }
    let outbound = Outbound::with_ca_bundle(Path::new("/nonexistent.pem")).unwrap_err().to_string();
    assert!(outbound.contains("cannot read the certificate authorities"), "{outbound}");
}
