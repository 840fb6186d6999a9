#include "TestCertificate.h"

#include <QFile>
#include <QProcess>
#include <QStandardPaths>

namespace tollgate::test {

namespace {
const QString kCaCert = QStringLiteral("ca.pem");
const QString kCaKey = QStringLiteral("ca-key.pem");
const QString kServerCert = QStringLiteral("server.pem");
const QString kServerKey = QStringLiteral("server-key.pem");
const QString kServerRequest = QStringLiteral("server.csr");
const QString kServerExtensions = QStringLiteral("server.ext");

QSslCertificate loadCertificate(const QString &path)
{
    const QList<QSslCertificate> certificates = QSslCertificate::fromPath(path, QSsl::Pem);
    return certificates.isEmpty() ? QSslCertificate() : certificates.first();
}
} // namespace

QStringList TestCertificate::defaultSubjectAltNames()
{
    return {QStringLiteral("DNS:localhost"), QStringLiteral("IP:127.0.0.1")};
}

TestCertificate::TestCertificate(const QStringList &subjectAltNames)
{
    if (!m_dir.isValid()) {
        m_error =
            QStringLiteral("cannot create a temporary directory: %1").arg(m_dir.errorString());
        return;
    }
    m_openssl = QStandardPaths::findExecutable(QStringLiteral("openssl"));
    if (m_openssl.isEmpty()) {
        m_error = QStringLiteral("the openssl command is not on PATH; install it (Debian: "
                                 "apt-get install openssl, or scripts/install-deps.sh --test)");
        return;
    }
    if (subjectAltNames.isEmpty()) {
        m_error = QStringLiteral("a server certificate needs at least one subject alt name");
        return;
    }
    QString commonName = QStringLiteral("localhost");
    for (const QString &name : subjectAltNames) {
        if (name.startsWith(QLatin1String("DNS:"))) {
            commonName = name.mid(4);
            break;
        }
    }

    // The CA: self-signed, allowed to sign certificates and nothing else.
    const QStringList key = {
        QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
        QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes")};
    if (!run(QStringList {QStringLiteral("req"), QStringLiteral("-x509")} + key
             + QStringList {
                 QStringLiteral("-keyout"), path(kCaKey), QStringLiteral("-out"), path(kCaCert),
                 QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"),
                 QStringLiteral("/CN=Tollgate Test CA"), QStringLiteral("-addext"),
                 QStringLiteral("basicConstraints=critical,CA:TRUE"), QStringLiteral("-addext"),
                 QStringLiteral("keyUsage=critical,keyCertSign,cRLSign")}))
        return;

    // The server certificate: a request, then signed by the CA with the extensions a TLS
    // client checks (the names it was issued for, and that it is for a server).
    if (!run(QStringList {QStringLiteral("req"), QStringLiteral("-new")} + key
             + QStringList {QStringLiteral("-keyout"), path(kServerKey), QStringLiteral("-out"),
                            path(kServerRequest), QStringLiteral("-subj"),
                            QStringLiteral("/CN=") + commonName}))
        return;
    QFile extensions(path(kServerExtensions));
    if (!extensions.open(QIODevice::WriteOnly | QIODevice::Text)) {
        m_error = QStringLiteral("cannot write %1: %2")
                      .arg(extensions.fileName(), extensions.errorString());
        return;
    }
    extensions.write("basicConstraints=critical,CA:FALSE\n"
                     "keyUsage=critical,digitalSignature,keyEncipherment\n"
                     "extendedKeyUsage=serverAuth\n"
                     "subjectAltName="
                     + subjectAltNames.join(QLatin1Char(',')).toUtf8() + '\n');
    extensions.close();
    if (!run({QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"),
              path(kServerRequest), QStringLiteral("-CA"), path(kCaCert), QStringLiteral("-CAkey"),
              path(kCaKey), QStringLiteral("-CAcreateserial"), QStringLiteral("-days"),
              QStringLiteral("1"), QStringLiteral("-sha256"), QStringLiteral("-extfile"),
              path(kServerExtensions), QStringLiteral("-out"), path(kServerCert)}))
        return;

    m_ca = loadCertificate(path(kCaCert));
    m_certificate = loadCertificate(path(kServerCert));
    QFile keyFile(path(kServerKey));
    if (keyFile.open(QIODevice::ReadOnly))
        m_key = QSslKey(keyFile.readAll(), QSsl::Ec, QSsl::Pem, QSsl::PrivateKey);
    if (m_ca.isNull() || m_certificate.isNull() || m_key.isNull())
        m_error = QStringLiteral("openssl wrote files Qt cannot load in %1").arg(m_dir.path());
}

QString TestCertificate::caCertificatePath() const
{
    return path(kCaCert);
}

QString TestCertificate::serverCertificatePath() const
{
    return path(kServerCert);
}

QString TestCertificate::serverKeyPath() const
{
    return path(kServerKey);
}

QString TestCertificate::path(const QString &name) const
{
    return m_dir.filePath(name);
}

bool TestCertificate::run(const QStringList &arguments)
{
    QProcess openssl;
    openssl.setProgram(m_openssl);
    openssl.setArguments(arguments);
    openssl.setWorkingDirectory(m_dir.path());
    openssl.setProcessChannelMode(QProcess::MergedChannels);
    openssl.start();
    if (!openssl.waitForFinished(30'000) || openssl.exitStatus() != QProcess::NormalExit
        || openssl.exitCode() != 0) {
        const QString why = openssl.error() == QProcess::UnknownError
            ? QStringLiteral("exit code %1").arg(openssl.exitCode())
            : openssl.errorString();
        m_error = QStringLiteral("openssl %1 failed (%2): %3")
                      .arg(arguments.join(QLatin1Char(' ')), why,
                           QString::fromLocal8Bit(openssl.readAll()).trimmed());
        return false;
    }
    return true;
}

} // namespace tollgate::test
