#pragma once

#include <QSslCertificate>
#include <QSslKey>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>

namespace tollgate::test {

// A throwaway certificate authority and a server certificate it signed, made at test time
// with the openssl command line in a temporary directory that goes with this object.
// EC P-256 keys, valid for one day. Check isValid() (errorString() says why not: openssl
// missing, or a step that failed) before using the rest.
class TestCertificate
{
public:
    // subjectAltNames in openssl's syntax ("DNS:localhost", "IP:127.0.0.1"); the
    // server certificate's subject CN is the first DNS name, or "localhost".
    explicit TestCertificate(const QStringList &subjectAltNames = defaultSubjectAltNames());
    TestCertificate(const TestCertificate &) = delete;
    TestCertificate &operator=(const TestCertificate &) = delete;

    static QStringList defaultSubjectAltNames(); // DNS:localhost, IP:127.0.0.1

    bool isValid() const { return m_error.isEmpty(); }
    QString errorString() const { return m_error; }

    QString caCertificatePath() const; // PEM: what a client must trust
    QSslCertificate caCertificate() const { return m_ca; }
    QString serverCertificatePath() const; // PEM
    QString serverKeyPath() const; // PEM, unencrypted
    QSslCertificate serverCertificate() const { return m_certificate; }
    QSslKey serverKey() const { return m_key; }

private:
    bool run(const QStringList &arguments);
    QString path(const QString &name) const;

    QTemporaryDir m_dir;
    QString m_openssl;
    QString m_error;
    QSslCertificate m_ca;
    QSslCertificate m_certificate;
    QSslKey m_key;
};

} // namespace tollgate::test
