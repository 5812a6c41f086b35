//! TCP, TLS (rustls, ring) or an SSH tunnel (and TLS inside it) behind one stream
//! type, with errors worded for the user.

use super::ssh::{self, SshFailure, SshStderr, SshStream, SshTunnel};
use super::{Endpoint, TlsOptions};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The connected byte stream.
pub enum Transport {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// ssh's stdin and stdout (`--ssh`).
    Ssh(Box<SshStream>),
    /// TLS to the far side's AMI, inside the ssh tunnel.
    SshTls(Box<TlsStream<SshStream>>),
}

/// A connected transport, and what its ssh child says on stderr (for a later failure).
pub struct Connected {
    pub transport: Transport,
    pub ssh_stderr: Option<SshStderr>,
}

/// Why a connection could not be made, in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Connect(String),
    #[error("{0}")]
    Tls(String),
    #[error("{}", .0.message)]
    Ssh(SshFailure),
}

/// Opens the connection `endpoint` asks for: directly, or through `ssh` when given
/// (then `endpoint` is the AMI address as seen from the far side).
pub async fn open(
    endpoint: &Endpoint,
    tls: &TlsOptions,
    ssh: Option<&SshTunnel>,
    timeout: Duration,
) -> Result<Connected, ConnectError> {
    let Some(tunnel) = ssh else {
        return Ok(Connected {
            transport: connect(endpoint, tls, timeout).await?,
            ssh_stderr: None,
        });
    };
    let (stream, stderr) = ssh::connect(tunnel, endpoint, timeout, !endpoint.tls)
        .await
        .map_err(ConnectError::Ssh)?;
    if !endpoint.tls {
        return Ok(Connected {
            transport: Transport::Ssh(Box::new(stream)),
            ssh_stderr: Some(stderr),
        });
    }
    match tls_handshake(endpoint, tls, timeout, stream).await {
        Ok(s) => Ok(Connected {
            transport: Transport::SshTls(Box::new(s)),
            ssh_stderr: Some(stderr),
        }),
        // The tunnel closed under the handshake: ssh's own words say why.
        Err(TlsFailure::Closed) => Err(ConnectError::Ssh(ssh::describe_failure(
            &tunnel.destination,
            endpoint,
            &stderr.last_words().await,
        ))),
        Err(TlsFailure::Refused(e)) => Err(e),
    }
}

enum TlsFailure {
    /// The stream ended during the handshake.
    Closed,
    Refused(ConnectError),
}

async fn tls_handshake<S>(
    endpoint: &Endpoint,
    tls: &TlsOptions,
    timeout: Duration,
    io: S,
) -> Result<TlsStream<S>, TlsFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = client_config(tls).map_err(TlsFailure::Refused)?;
    let name = rustls::pki_types::ServerName::try_from(endpoint.host.clone()).map_err(|_| {
        TlsFailure::Refused(ConnectError::Tls(format!(
            "{:?} is not a valid TLS server name",
            endpoint.host
        )))
    })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(timeout, connector.connect(name, io)).await {
        Err(_) => Err(TlsFailure::Refused(ConnectError::Tls(format!(
            "{endpoint}: TLS handshake got no answer within {}s (is this a TLS port?)",
            timeout.as_secs_f32()
        )))),
        Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof && e.get_ref().is_none() => {
            Err(TlsFailure::Closed)
        }
        Ok(Err(e)) => Err(TlsFailure::Refused(ConnectError::Tls(describe_tls(
            endpoint, &e,
        )))),
        Ok(Ok(s)) => Ok(s),
    }
}

/// Opens TCP (and TLS when asked) to `endpoint` within `timeout`.
pub async fn connect(
    endpoint: &Endpoint,
    tls: &TlsOptions,
    timeout: Duration,
) -> Result<Transport, ConnectError> {
    let addr = (endpoint.host.as_str(), endpoint.port);
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => {
            return Err(ConnectError::Connect(format!(
                "{endpoint}: no answer within {}s (host down or a firewall dropping packets?)",
                timeout.as_secs_f32()
            )))
        }
        Ok(Err(e)) => return Err(ConnectError::Connect(describe_io(endpoint, &e))),
        Ok(Ok(s)) => s,
    };
    let _ = tcp.set_nodelay(true);
    if !endpoint.tls {
        return Ok(Transport::Tcp(tcp));
    }
    match tls_handshake(endpoint, tls, timeout, tcp).await {
        Ok(s) => Ok(Transport::Tls(Box::new(s))),
        Err(TlsFailure::Closed) => Err(ConnectError::Tls(format!(
            "{endpoint}: the server closed the connection during the TLS handshake"
        ))),
        Err(TlsFailure::Refused(e)) => Err(e),
    }
}

fn describe_io(endpoint: &Endpoint, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => {
            format!("{endpoint}: connection refused (is AMI enabled on this port?)")
        }
        _ => format!("{endpoint}: {e}"),
    }
}

fn describe_tls(endpoint: &Endpoint, e: &io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            use rustls::CertificateError as C;
            let why = match cert {
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    format!("the certificate is not valid for the name {:?}", endpoint.host)
                }
                C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_string(),
                C::UnknownIssuer => {
                    "the certificate is signed by an unknown authority (self-signed? pass --ca-file)".to_string()
                }
                C::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                    "the server presents a CA certificate as its own (self-signed? pass it with --ca-file)".to_string()
                }
                other => format!("the certificate was refused: {other:?}"),
            };
            format!("{endpoint}: {why}")
        }
        Some(rustls::Error::InvalidMessage(_)) | Some(rustls::Error::InappropriateMessage { .. }) => format!(
            "{endpoint}: the server did not answer in TLS (a plain AMI port? use ami:// or port 5038)"
        ),
        Some(other) => format!("{endpoint}: {other}"),
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            format!("{endpoint}: the server closed the connection during the TLS handshake")
        }
        None => format!("{endpoint}: {e}"),
    }
}

fn client_config(opts: &TlsOptions) -> Result<rustls::ClientConfig, ConnectError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectError::Tls(e.to_string()))?;
    if opts.insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    let mut pinned = Vec::new();
    if let Some(path) = &opts.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            ConnectError::Tls(format!("cannot read CA file {}: {e}", path.display()))
        })?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert =
                cert.map_err(|e| ConnectError::Tls(format!("CA file {}: {e}", path.display())))?;
            roots
                .add(cert.clone())
                .map_err(|e| ConnectError::Tls(format!("CA file {}: {e}", path.display())))?;
            pinned.push(cert);
        }
        if pinned.is_empty() {
            return Err(ConnectError::Tls(format!(
                "CA file {} holds no PEM certificate",
                path.display()
            )));
        }
    }
    if roots.is_empty() {
        return Err(ConnectError::Tls(
            "no trusted certificates: the system has none installed; pass --ca-file".into(),
        ));
    }
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| ConnectError::Tls(e.to_string()))?;
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(TrustedFileVerifier { webpki, pinned }))
        .with_no_client_auth())
}

/// Standard WebPKI verification, plus one case it refuses: a self-signed certificate
/// that the user put in `--ca-file` themselves (the usual Asterisk setup, where the
/// server's own certificate doubles as its CA). That exact certificate is trusted, and
/// its names are still checked.
#[derive(Debug)]
struct TrustedFileVerifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl rustls::client::danger::ServerCertVerifier for TrustedFileVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(e)
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                let parsed =
                    rustls::server::ParsedCertificate::try_from(end_entity).map_err(|_| e)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `--insecure`: accepts any certificate, still checks the handshake signatures.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::Ssh(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::SshTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::Ssh(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::SshTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Ssh(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::SshTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Ssh(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::SshTls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
