#pragma once

#include <QByteArray>
#include <QHash>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QUrl>

class QNetworkAccessManager;
class QNetworkReply;

namespace tollgate {

// Tries an upstream key with the cheapest authenticated call there is: POST
// {upstream}/v1/messages/count_tokens, which is free and bills nothing. The upstream's
// answer says whether the key works, was rejected (401/403) or something else is wrong.
// Asynchronous (QNetworkAccessManager does the I/O); several tests may run at once, each
// answered with finished(). Used by `tollgate keys test` and the window's Keys page, so
// both say the same thing. The texts name the alias, never the key.
class KeyTester : public QObject
{
    Q_OBJECT

public:
    static constexpr int kTimeoutMs = 30'000;

    struct Result
    {
        enum class Verdict {
            Works, // 200
            Rejected, // 401 or 403: the key itself was refused
            Failed, // any other answer
            Unreachable, // no answer at all (DNS, connect, TLS, timeout)
        };
        QString alias;
        Verdict verdict = Verdict::Unreachable;
        int status = 0; // HTTP status; 0 without an answer
        QString host; // the upstream's host name
        QString detail; // the upstream's error.message, or the network error

        bool works() const { return verdict == Verdict::Works; }
        // One sentence: `"work" works: api.anthropic.com accepted it (count_tokens answered
        // 200)`, `"ci" was rejected by api.anthropic.com (401, invalid x-api-key)`, ...
        QString text() const;
    };

    explicit KeyTester(QObject *parent = nullptr);
    ~KeyTester() override;

    // The vendor's base URL (it may carry a path prefix) and a PEM file of extra CA
    // certificates to trust for it (empty: the system's only).
    void setUpstream(const QUrl &upstream, const QString &caFile = {});
    QUrl upstream() const { return m_upstream; }

    // Starts a test; finished() follows, also when the upstream cannot be reached.
    void test(const QString &alias, const QByteArray &secret);
    int pendingCount() const { return int(m_pending.size()); }

signals:
    void finished(const tollgate::KeyTester::Result &result);

private:
    void onReplyFinished(QNetworkReply *reply);

    QNetworkAccessManager *m_network = nullptr;
    QUrl m_upstream;
    QString m_caFile;
    QHash<QNetworkReply *, QString> m_pending; // reply -> alias
};

} // namespace tollgate

Q_DECLARE_METATYPE(tollgate::KeyTester::Result)
