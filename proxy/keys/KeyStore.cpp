#include "KeyStore.h"

#include "SecretRedactor.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QMutex>
#include <QSemaphore>
#include <QThread>
#include <algorithm>
#include <memory>
#include <qt6keychain/keychain.h>

namespace tollgate {

namespace {

enum class Operation { Store, Load, Remove };

// What the keychain answered to one job.
struct Answer
{
    bool isTimedOut = false;
    QKeychain::Error error = QKeychain::NoError;
    QString detail; // the backend's own error text
    QByteArray data;
};

// Written on the keychain thread, read by the caller once `done` is released. Shared,
// because a caller that stopped waiting leaves the job running with it.
struct PendingAnswer
{
    QSemaphore done;
    Answer answer;
};

struct JobRequest
{
    Operation operation;
    QString service;
    QString entry;
    QByteArray secret;
};

// The process-wide thread every QtKeychain job runs on (see the class comment). Never
// deleted: QtKeychain's job queue stays bound to it for the life of the process.
QMutex g_threadMutex;
QThread *g_thread = nullptr;
QObject *g_threadContext = nullptr;

void stopKeychainThread()
{
    QMutexLocker lock(&g_threadMutex);
    if (g_thread) {
        g_thread->quit();
        // A job stuck in the keychain (an unanswered unlock prompt) must not hold up exit.
        g_thread->wait(QDeadlineTimer(5000));
    }
}

// An object living on the keychain thread; starts the thread when it is not running.
QObject *keychainThreadContext()
{
    QMutexLocker lock(&g_threadMutex);
    if (!g_thread) {
        g_thread = new QThread;
        g_thread->setObjectName(QStringLiteral("tollgate-keychain"));
        g_threadContext = new QObject;
        g_threadContext->moveToThread(g_thread);
    }
    if (!g_thread->isRunning()) {
        g_thread->start();
        // Stops it while QCoreApplication is destroyed, before static destructors run.
        qAddPostRoutine(stopKeychainThread);
    }
    return g_threadContext;
}

// Runs on the keychain thread.
void startJob(const JobRequest &request, const std::shared_ptr<PendingAnswer> &pending)
{
    QKeychain::Job *job = nullptr;
    switch (request.operation) {
    case Operation::Store: {
        auto *write = new QKeychain::WritePasswordJob(request.service);
        // Binary keeps every byte (the Secret Service stores it base64-encoded).
        write->setBinaryData(request.secret);
        job = write;
        break;
    }
    case Operation::Load:
        job = new QKeychain::ReadPasswordJob(request.service);
        break;
    case Operation::Remove:
        job = new QKeychain::DeletePasswordJob(request.service);
        break;
    }
    job->setKey(request.entry);
    // Never a plain-text copy in a settings file when the keychain is unavailable.
    job->setInsecureFallback(false);
    // The job deletes itself once finished, also when its caller stopped waiting.
    job->setAutoDelete(true);
    QObject::connect(job, &QKeychain::Job::finished, job, [pending](QKeychain::Job *finished) {
        pending->answer.error = finished->error();
        pending->answer.detail = finished->errorString();
        if (auto *read = qobject_cast<QKeychain::ReadPasswordJob *>(finished))
            pending->answer.data = read->binaryData();
        pending->done.release();
    });
    job->start();
}

Answer runJob(JobRequest request)
{
    if (!QCoreApplication::instance()) {
        Answer answer;
        answer.error = QKeychain::OtherError;
        answer.detail = QStringLiteral("Tollgate started no QCoreApplication");
        return answer;
    }
    QObject *context = keychainThreadContext();
    Q_ASSERT(QThread::currentThread() != context->thread());
    auto pending = std::make_shared<PendingAnswer>();
    QMetaObject::invokeMethod(
        context, [request = std::move(request), pending] { startJob(request, pending); },
        Qt::QueuedConnection);
    const auto timeout = std::chrono::milliseconds(KeyStore::kAnswerTimeout);
    if (!pending->done.tryAcquire(1, int(timeout.count()))) {
        Answer answer;
        answer.isTimedOut = true;
        return answer;
    }
    return pending->answer;
}

enum class Failure { NoService, Locked, RefusedByUser, TimedOut, Other };

bool containsAny(const QString &text, std::initializer_list<QLatin1StringView> needles)
{
    return std::any_of(needles.begin(), needles.end(), [&text](QLatin1StringView needle) {
        return text.contains(needle, Qt::CaseInsensitive);
    });
}

// QtKeychain 0.13 has no isAvailable(): a missing or locked keychain shows only in a job's
// error. Its Secret Service backend reports most failures as OtherError with the D-Bus or
// GLib text, e.g. "Cannot autolaunch D-Bus without X11 $DISPLAY" (no session bus), "Could
// not connect: No such file or directory" (a dead bus address), "The name
// org.freedesktop.secrets was not provided by any .service files" (no keyring daemon),
// "Object does not exist at path /org/freedesktop/secrets/collection/login" (no default
// keyring) and "Cannot create an item in a locked collection".
Failure classify(const Answer &answer)
{
    if (answer.isTimedOut)
        return Failure::TimedOut;
    switch (answer.error) {
    case QKeychain::NoBackendAvailable:
    case QKeychain::NotImplemented:
        return Failure::NoService;
    case QKeychain::AccessDeniedByUser:
        return Failure::RefusedByUser;
    case QKeychain::AccessDenied:
        return Failure::Locked;
    default:
        break;
    }
    const QString &text = answer.detail;
    if (containsAny(text,
                    {QLatin1StringView("locked"), QLatin1StringView("secrets/collection"),
                     QLatin1StringView("prompt"), QLatin1StringView("denied")}))
        return Failure::Locked;
    if (containsAny(text,
                    {QLatin1StringView("d-bus"), QLatin1StringView("dbus"),
                     QLatin1StringView("could not connect"), QLatin1StringView("autolaunch"),
                     QLatin1StringView(".service files"), QLatin1StringView("no keychain"),
                     QLatin1StringView("no keyring"), QLatin1StringView("could not open wallet"),
                     QLatin1StringView("connection refused")}))
        return Failure::NoService;
    return Failure::Other;
}

QString kindName(KeyStore::Kind kind)
{
    return kind == KeyStore::Kind::Upstream ? QStringLiteral("upstream")
                                            : QStringLiteral("virtual");
}

// Where else a server's keys can come from; only upstream keys have such a source.
QString serverHint(KeyStore::Kind kind)
{
    return kind == KeyStore::Kind::Upstream
        ? QStringLiteral(", or on a server give the keys in TOLLGATE_UPSTREAM_KEYS or a key file")
        : QString();
}

QString lockedText()
{
#if defined(__APPLE__)
    return QStringLiteral("the keychain is locked or refused access: unlock the login keychain "
                          "in Keychain Access, then try again");
#elif defined(_WIN32)
    return QStringLiteral("Credential Manager refused access: sign in to Windows as the user "
                          "who runs Tollgate, then try again");
#else
    return QStringLiteral("the keychain is locked or has no default keyring: unlock it (or "
                          "create one) in Passwords and Keys or KWallet Manager, or run "
                          "'gnome-keyring-daemon --unlock', then try again");
#endif
}

QString reason(Failure failure, KeyStore::Kind kind)
{
    switch (failure) {
    case Failure::NoService:
        return QStringLiteral("no keychain service is running: start gnome-keyring or KWallet "
                              "(a desktop session normally does)")
            + serverHint(kind);
    case Failure::Locked:
        return lockedText() + serverHint(kind);
    case Failure::RefusedByUser:
        return QStringLiteral("access to the keychain was refused: allow Tollgate when the "
                              "keychain asks, then try again");
    case Failure::TimedOut:
        return QStringLiteral("the keychain did not answer within %1 seconds (is an unlock "
                              "prompt waiting?)")
            .arg(KeyStore::kAnswerTimeout.count());
    case Failure::Other:
        break;
    }
    return QStringLiteral("the keychain reported an error");
}

QString failureText(Operation operation, KeyStore::Kind kind, const QString &alias,
                    const Answer &answer, const QByteArray &secret)
{
    static const char *const patterns[] = {
        "cannot store the %1 key %2 in the keychain: %3",
        "cannot read the %1 key %2 from the keychain: %3",
        "cannot remove the %1 key %2 from the keychain: %3",
    };
    QString text =
        QString::fromLatin1(patterns[int(operation)])
            .arg(kindName(kind), KeyStore::quotedAlias(alias), reason(classify(answer), kind));
    if (!answer.detail.isEmpty()) {
        // Backends do not quote the secret, but their text is not ours to trust.
        const QList<QByteArray> known =
            secret.isEmpty() ? QList<QByteArray> {} : QList<QByteArray> {secret};
        text += QStringLiteral(" (keychain said: %1)")
                    .arg(QString::fromUtf8(SecretRedactor(known).redact(answer.detail.toUtf8())));
    }
    return text;
}

bool isAliasChar(QChar c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9')
        || c == u'.' || c == u'_' || c == u'-';
}

// Shaped like something SecretRedactor masks: an Anthropic, OpenAI or Tollgate key.
bool looksLikeKey(const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    return SecretRedactor().redact(bytes) != bytes;
}

void setError(QString *error, const QString &text)
{
    if (error)
        *error = text;
}

} // namespace

KeyStore::KeyStore(QString service)
    : m_service(std::move(service))
{
}

QString KeyStore::entryName(Kind kind, const QString &alias)
{
    return kindName(kind) + u'/' + alias;
}

QString KeyStore::aliasProblem(const QString &alias)
{
    if (alias.isEmpty())
        return QStringLiteral("the alias is empty");
    if (alias.size() > kMaxAliasLength)
        return QStringLiteral("the alias is longer than %1 characters").arg(kMaxAliasLength);
    if (!std::all_of(alias.begin(), alias.end(), isAliasChar))
        return QStringLiteral("an alias may only use the characters A-Z a-z 0-9 . _ -");
    if (looksLikeKey(alias))
        return QStringLiteral("the alias looks like an API key; aliases are shown and logged, "
                              "so use a name such as \"work\"");
    return {};
}

QString KeyStore::quotedAlias(const QString &alias)
{
    const bool isShowable = alias.size() <= kMaxAliasLength && !looksLikeKey(alias)
        && std::all_of(alias.begin(), alias.end(), [](QChar c) { return c.isPrint(); });
    if (!isShowable)
        return QStringLiteral("(alias not shown)");
    return u'"' + alias + u'"';
}

bool KeyStore::store(Kind kind, const QString &alias, const QByteArray &secret, QString *error)
{
    setError(error, {});
    if (const QString problem = aliasProblem(alias); !problem.isEmpty()) {
        setError(error,
                 QStringLiteral("cannot store the %1 key: invalid alias %2: %3")
                     .arg(kindName(kind), quotedAlias(alias), problem));
        return false;
    }
    if (secret.isEmpty()) {
        setError(error,
                 QStringLiteral("cannot store the %1 key %2: the key is empty")
                     .arg(kindName(kind), quotedAlias(alias)));
        return false;
    }
    const Answer answer = runJob({Operation::Store, m_service, entryName(kind, alias), secret});
    if (!answer.isTimedOut && answer.error == QKeychain::NoError)
        return true;
    setError(error, failureText(Operation::Store, kind, alias, answer, secret));
    return false;
}

std::optional<QByteArray> KeyStore::load(Kind kind, const QString &alias, QString *error)
{
    setError(error, {});
    if (const QString problem = aliasProblem(alias); !problem.isEmpty()) {
        setError(error,
                 QStringLiteral("cannot read the %1 key: invalid alias %2: %3")
                     .arg(kindName(kind), quotedAlias(alias), problem));
        return std::nullopt;
    }
    const Answer answer = runJob({Operation::Load, m_service, entryName(kind, alias), {}});
    if (!answer.isTimedOut && answer.error == QKeychain::NoError)
        return answer.data;
    if (!answer.isTimedOut && answer.error == QKeychain::EntryNotFound)
        return std::nullopt;
    setError(error, failureText(Operation::Load, kind, alias, answer, {}));
    return std::nullopt;
}

bool KeyStore::remove(Kind kind, const QString &alias, QString *error)
{
    setError(error, {});
    if (const QString problem = aliasProblem(alias); !problem.isEmpty()) {
        setError(error,
                 QStringLiteral("cannot remove the %1 key: invalid alias %2: %3")
                     .arg(kindName(kind), quotedAlias(alias), problem));
        return false;
    }
    const Answer answer = runJob({Operation::Remove, m_service, entryName(kind, alias), {}});
    if (!answer.isTimedOut
        && (answer.error == QKeychain::NoError || answer.error == QKeychain::EntryNotFound))
        return true;
    setError(error, failureText(Operation::Remove, kind, alias, answer, {}));
    return false;
}

} // namespace tollgate
