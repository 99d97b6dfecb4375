//! `test-ca DIR`: writes a test CA (`DIR/ca.pem`) and a server certificate it signed for
//! huhujian.test and 127.0.0.1 (`DIR/server.pem`, `DIR/server.key`), for the HTTPS
//! browser scenario (`cargo xtask test`).

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: test-ca DIR");
        std::process::exit(2);
    };
    let ca = huhujian_tests::tls::TestCa::new(std::path::Path::new(&dir));
    let issued = ca.issue("server");
    println!("{}\n{}\n{}", ca.cert.display(), issued.cert.display(), issued.key.display());
}
