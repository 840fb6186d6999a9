#include "KeyTester.h"

#include "KeyStore.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSslConfiguration>

namespace tollgate {

namespace {
// The smallest valid count_tokens body; the model only has to exist.
constexpr char kBody[] =
    R"({"model":"claude-haiku-4-5","messages":[{"role":"user","content":"ping"}]})";

QUrl countTokensUrl(QUrl url)
{
    QString path = url.path();
    if (path.endsWith(u'/'))
        path.chop(1);
    url.setPath(path + QStringLiteral("/v1/messages/count_tokens"));
    return url;
}
} // namespace

QString KeyTester::Result::text() const
{
    const QString quoted = KeyStore::quotedAlias(alias);
    switch (verdict) {
    case Verdict::Works:
        return QStringLiteral("%1 works: %2 accepted it (count_tokens answered 200)")
            .arg(quoted, host);
    case Verdict::Rejected:
        return QStringLiteral("%1 was rejected by %2 (%3%4)")
            .arg(quoted, host)
            .arg(status)
            .arg(detail.isEmpty() ? QString() : QStringLiteral(", ") + detail);
    case Verdict::Failed:
        return QStringLiteral("%1: %2 answered %3%4")
            .arg(quoted, host)
            .arg(status)
            .arg(detail.isEmpty() ? QString() : QStringLiteral(" (") + detail + u')');
    case Verdict::Unreachable:
        break;
    }
    return QStringLiteral("cannot reach %1 to test %2: %3").arg(host, quoted, detail);
}

KeyTester::KeyTester(QObject *parent)
    : QObject(parent)
    , m_network(new QNetworkAccessManager(this))
{
    qRegisterMetaType<tollgate::KeyTester::Result>();
    connect(m_network, &QNetworkAccessManager::finished, this, &KeyTester::onReplyFinished);
}

KeyTester::~KeyTester()
{
    // Replies still running are children of the manager and go with it, unanswered: none
    // may call back into a half-destroyed tester.
    disconnect(m_network, nullptr, this, nullptr);
}

void KeyTester::setUpstream(const QUrl &upstream, const QString &caFile)
{
    m_upstream = upstream;
    m_caFile = caFile;
}

void KeyTester::test(const QString &alias, const QByteArray &secret)
{
    QNetworkRequest request(countTokensUrl(m_upstream));
    request.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    request.setRawHeader("x-api-key", secret);
    request.setRawHeader("anthropic-version", "2023-06-01");
    request.setTransferTimeout(kTimeoutMs);
    if (!m_caFile.isEmpty()) {
        QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
        tls.addCaCertificates(m_caFile);
        request.setSslConfiguration(tls);
    }
    QNetworkReply *reply = m_network->post(request, QByteArray(kBody));
    m_pending.insert(reply, alias);
}

void KeyTester::onReplyFinished(QNetworkReply *reply)
{
    reply->deleteLater();
    const auto pending = m_pending.constFind(reply);
    if (pending == m_pending.constEnd())
        return;
    Result result;
    result.alias = *pending;
    m_pending.erase(pending);
    result.host = m_upstream.host();
    result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (result.status == 0) {
        result.verdict = Result::Verdict::Unreachable;
        result.detail = reply->errorString();
        emit finished(result);
        return;
    }
    result.detail = QJsonDocument::fromJson(reply->readAll())
                        .object()
                        .value(QLatin1String("error"))
                        .toObject()
                        .value(QLatin1String("message"))
                        .toString();
    if (result.status == 200)
        result.verdict = Result::Verdict::Works;
    else if (result.status == 401 || result.status == 403)
        result.verdict = Result::Verdict::Rejected;
    else
        result.verdict = Result::Verdict::Failed;
    emit finished(result);
}

} // namespace tollgate
