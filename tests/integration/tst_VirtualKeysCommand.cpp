// `tollgate vkeys` as a user runs it, against a real keychain (a throwaway GNOME keyring in a
// private D-Bus session, see tests/support/with-keyring.sh): add prints a new secret once
// and keeps it in the keychain only; list shows each key's settings, its masked secret and
// its spend; set, rotate and remove do what they say; and a gateway started afterwards
// treats each key as its settings say (alias and tag in the request log, its models, its
// enabled switch), with secrets from the keychain or from TOLLGATE_VIRTUAL_KEYS.
#include "MockUpstream.h"
#include "TestClient.h"
#include "keys/KeyStore.h"
#include "keys/VirtualKey.h"

#include <QDirIterator>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <csignal>

using namespace tollgate;
using namespace tollgate::test;

namespace {
const QByteArray kUpstreamKey = "sk-ant-api03-vkeys-upstream-0000-9999";
// Secrets given in TOLLGATE_VIRTUAL_KEYS, never by the keychain.
const QByteArray kEnvironmentSecret = "tg-from-the-environment-0123456789";
} // namespace

class tst_VirtualKeysCommand final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void cleanup();
    void addsListsSetsRotatesAndRemovesKeys();
    void listsKeysWhenTheRequestLogCannotBeRead();
    void servesEachKeyAsItsSettingsSay();
    void takesSecretsFromTheEnvironmentWithoutTouchingTheKeychain();
    void dropsAKeyWithoutASecretAndSaysHowToFixIt();
    void stopsWhenTheKeychainCannotBeRead();
    void refusesBadEnvironment_data();
    void refusesBadEnvironment();
    void refusesBadInput_data();
    void refusesBadInput();

private:
    struct Run
    {
        int exitCode = -1;
        QByteArray out;
        QByteArray errors;
    };
    Run tollgate(QStringList arguments, const QProcessEnvironment &env = {});
    QProcessEnvironment environment() const;
    // A private D-Bus address that nothing listens on: no keychain can be reached.
    QProcessEnvironment withoutKeychain() const;
    void writeSettings(const QByteArray &json);
    QByteArray settingsText() const;
    QByteArray everythingWritten() const;
    // Starts `tollgate --headless` on a free port; 0 when it did not print its setup lines.
    quint16 serve(QProcess &process, const QProcessEnvironment &env, QByteArray *printed);
    static void stop(QProcess &process, QByteArray *printed);
    // Starts the gateway, sends it one Messages request with secret as x-api-key and stops
    // it: the answer's status (0 when none came); printed gets what the gateway printed.
    int statusOfOneRequest(const QProcessEnvironment &env, const QByteArray &secret,
                           QByteArray *printed);
    QList<QJsonObject> requestLog();
    // The line of `vkeys list` for alias, its columns split at runs of two spaces.
    static QStringList listRow(const QByteArray &listing, const QString &alias);

    QTemporaryDir *m_home = nullptr;
    MockUpstream *m_mock = nullptr;
    QString m_settings;
    QString m_database;
};

void tst_VirtualKeysCommand::init()
{
    m_home = new QTemporaryDir;
    QVERIFY(m_home->isValid());
    m_mock = new MockUpstream(this);
    QVERIFY(m_mock->listen());
    m_settings = m_home->filePath(QStringLiteral("settings.json"));
    m_database = m_home->filePath(QStringLiteral("requests.sqlite"));
    writeSettings("{}");
}

void tst_VirtualKeysCommand::cleanup()
{
    // The keyring lives as long as the whole test: each test starts without entries.
    KeyStore store;
    for (const char *alias : {"alice", "haiku", "off", "ci", "bob"}) {
        QString error;
        QVERIFY2(store.remove(KeyStore::Kind::Virtual, QLatin1String(alias), &error),
                 qPrintable(error));
    }
    delete m_mock;
    delete m_home;
}

// Settings and data directories of the test's own; upstream keys from the environment.
QProcessEnvironment tst_VirtualKeysCommand::environment() const
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), m_home->filePath(QStringLiteral("config")));
    env.insert(QStringLiteral("XDG_DATA_HOME"), m_home->filePath(QStringLiteral("data")));
    env.remove(QStringLiteral("TOLLGATE_UPSTREAM_KEYS"));
    env.remove(QStringLiteral("TOLLGATE_VIRTUAL_KEYS"));
    env.insert(QStringLiteral("TOLLGATE_UPSTREAM_KEY"), QString::fromLatin1(kUpstreamKey));
    return env;
}

QProcessEnvironment tst_VirtualKeysCommand::withoutKeychain() const
{
    QProcessEnvironment env = environment();
    env.insert(QStringLiteral("DBUS_SESSION_BUS_ADDRESS"),
               QStringLiteral("unix:path=") + m_home->filePath(QStringLiteral("no-bus")));
    return env;
}

tst_VirtualKeysCommand::Run tst_VirtualKeysCommand::tollgate(QStringList arguments,
                                                             const QProcessEnvironment &env)
{
    arguments << QStringLiteral("--config") << m_settings;
    QProcess process;
    process.setProcessEnvironment(env.isEmpty() ? environment() : env);
    process.start(QStringLiteral(TOLLGATE_BINARY), arguments);
    process.closeWriteChannel();
    Run run;
    if (!QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 20000))
        return run;
    run.exitCode = process.exitCode();
    run.out = process.readAllStandardOutput();
    run.errors = process.readAllStandardError();
    return run;
}

void tst_VirtualKeysCommand::writeSettings(const QByteArray &json)
{
    // The request log in the test's directory; the port shows in the printed setup lines.
    QJsonObject settings = QJsonDocument::fromJson(json).object();
    settings.insert(QStringLiteral("database"), m_database);
    settings.insert(QStringLiteral("port"), 18787);
    settings.insert(QStringLiteral("upstream"), QString::fromLatin1(m_mock->baseUrl()));
    QFile file(m_settings);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(QJsonDocument(settings).toJson());
}

QByteArray tst_VirtualKeysCommand::settingsText() const
{
    QFile file(m_settings);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// Every byte of every file in the test's directory: settings, request log, key file.
QByteArray tst_VirtualKeysCommand::everythingWritten() const
{
    QByteArray all;
    QDirIterator it(m_home->path(), QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        QFile file(it.next());
        if (file.open(QIODevice::ReadOnly))
            all += file.readAll();
    }
    return all;
}

quint16 tst_VirtualKeysCommand::serve(QProcess &process, const QProcessEnvironment &env,
                                      QByteArray *printed)
{
    process.setProcessEnvironment(env);
    process.start(QStringLiteral(TOLLGATE_BINARY),
                  {QStringLiteral("--headless"), QStringLiteral("--config"), m_settings,
                   QStringLiteral("--port"), QStringLiteral("0")});
    const bool hasPrinted = QTest::qWaitFor(
        [&] {
            *printed += process.readAllStandardOutput();
            return printed->contains("ANTHROPIC_API_KEY")
                || process.state() == QProcess::NotRunning;
        },
        20000);
    Q_UNUSED(hasPrinted) // the port below is 0 when the lines did not come
    return quint16(QRegularExpression(QStringLiteral("ANTHROPIC_BASE_URL=http://127.0.0.1:(\\d+)"))
                       .match(QString::fromUtf8(*printed))
                       .captured(1)
                       .toUInt());
}

void tst_VirtualKeysCommand::stop(QProcess &process, QByteArray *printed)
{
    ::kill(pid_t(process.processId()), SIGTERM);
    QVERIFY(QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 20000));
    QCOMPARE(process.exitCode(), 0);
    *printed += process.readAllStandardOutput() + process.readAllStandardError();
}

int tst_VirtualKeysCommand::statusOfOneRequest(const QProcessEnvironment &env,
                                               const QByteArray &secret, QByteArray *printed)
{
    QProcess serving;
    QByteArray out;
    const quint16 port = serve(serving, env, &out);
    int status = 0;
    if (port != 0) {
        TestClient client;
        client.connectTo(port);
        client.send("POST", "/v1/messages", {{"x-api-key", secret}},
                    R"({"model":"claude-haiku-4-5","max_tokens":1})");
        if (client.waitForResponses(1))
            status = client.responses().at(0).status;
        stop(serving, &out);
    }
    *printed += out;
    return status;
}

QList<QJsonObject> tst_VirtualKeysCommand::requestLog()
{
    const Run run =
        tollgate({QStringLiteral("export"), QStringLiteral("--format"), QStringLiteral("jsonl"),
                  QStringLiteral("--since"), QStringLiteral("1h")});
    QList<QJsonObject> rows;
    for (const QByteArray &line : run.out.split('\n')) {
        if (!line.isEmpty())
            rows.append(QJsonDocument::fromJson(line).object());
    }
    return rows;
}

QStringList tst_VirtualKeysCommand::listRow(const QByteArray &listing, const QString &alias)
{
    for (const QString &line : QString::fromUtf8(listing).split(u'\n')) {
        const QStringList columns = line.split(QRegularExpression(QStringLiteral(" {2,}")));
        if (columns.first() == alias)
            return columns;
    }
    return {};
}

void tst_VirtualKeysCommand::addsListsSetsRotatesAndRemovesKeys()
{
    Run run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains("no virtual keys"), run.out.constData());

    // add: the secret alone on standard output, once; what to do with it on standard error.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("alice"),
                    QStringLiteral("--tag"), QStringLiteral("team-a"),
                    QStringLiteral("--daily-usd"), QStringLiteral("5")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QVERIFY2(run.out.endsWith('\n') && run.out.count('\n') == 1, run.out.constData());
    const QByteArray secret = run.out.trimmed();
    QVERIFY2(VirtualKey::isGeneratedShape(secret), secret.constData());
    QVERIFY(!run.errors.contains(secret));
    QVERIFY2(run.errors.contains("Copy it now: it is not shown again"), run.errors.constData());
    QVERIFY2(run.errors.contains("export ANTHROPIC_BASE_URL=http://127.0.0.1:18787\n"),
             run.errors.constData());
    QVERIFY(run.errors.contains("export ANTHROPIC_API_KEY="));
    const QString masked = QStringLiteral("tg-…") + QString::fromLatin1(secret.right(4));
    QVERIFY2(run.errors.contains(masked.toUtf8()), run.errors.constData());
    KeyStore store;
    QString error;
    QCOMPARE(store.load(KeyStore::Kind::Virtual, QStringLiteral("alice"), &error), secret);

    // The settings name the key and what it may do, never its secret.
    QVERIFY(!settingsText().contains(secret));
    QJsonObject alice = QJsonDocument::fromJson(settingsText())
                            .object()
                            .value(QLatin1String("virtual_keys"))
                            .toObject()
                            .value(QLatin1String("alice"))
                            .toObject();
    QCOMPARE(alice.value(QLatin1String("billing_tag")).toString(), QStringLiteral("team-a"));
    QCOMPARE(alice.value(QLatin1String("enabled")).toBool(false), true);
    QCOMPARE(alice.value(QLatin1String("limits"))
                 .toObject()
                 .value(QLatin1String("requests_per_minute"))
                 .toInt(),
             300);
    QCOMPARE(alice.value(QLatin1String("budget"))
                 .toObject()
                 .value(QLatin1String("daily_usd"))
                 .toDouble(),
             5.0);
    // The settings file's other keys stay as they were.
    QCOMPARE(QJsonDocument::fromJson(settingsText()).object().value(QLatin1String("port")).toInt(),
             18787);

    // A second key of the same alias is refused; rotate is the way to a new secret.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("alice")});
    QCOMPARE(run.exitCode, 1);
    QVERIFY2(run.errors.contains("\"alice\" already") && run.errors.contains("vkeys rotate alice"),
             run.errors.constData());
    QVERIFY(run.out.isEmpty());
    QCOMPARE(store.load(KeyStore::Kind::Virtual, QStringLiteral("alice"), &error), secret);

    // list: settings, the masked secret from the keychain, no spend yet.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QStringList row = listRow(run.out, QStringLiteral("alice"));
    QCOMPARE(
        row,
        (QStringList {QStringLiteral("alice"), QStringLiteral("team-a"), QStringLiteral("all"),
                      QStringLiteral("300 rpm"), QStringLiteral("$5.00/day"), QStringLiteral("yes"),
                      masked, QStringLiteral("$0.0000"), QStringLiteral("$0.0000")}));
    QVERIFY(!run.out.contains(secret) && !run.errors.contains(secret));

    // set: settings only; the keychain's secret stays.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("set"), QStringLiteral("alice"),
                    QStringLiteral("--tag"), QStringLiteral("team-b"), QStringLiteral("--models"),
                    QStringLiteral("claude-haiku-*,claude-sonnet-*"), QStringLiteral("--rpm"),
                    QStringLiteral("60"), QStringLiteral("--otpm"), QStringLiteral("8000"),
                    QStringLiteral("--monthly-usd"), QStringLiteral("100.5"),
                    QStringLiteral("--disable")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QVERIFY2(run.out.contains("team-b"), run.out.constData());
    alice = QJsonDocument::fromJson(settingsText())
                .object()
                .value(QLatin1String("virtual_keys"))
                .toObject()
                .value(QLatin1String("alice"))
                .toObject();
    QCOMPARE(alice.value(QLatin1String("billing_tag")).toString(), QStringLiteral("team-b"));
    QCOMPARE(alice.value(QLatin1String("models")).toVariant().toStringList(),
             (QStringList {QStringLiteral("claude-haiku-*"), QStringLiteral("claude-sonnet-*")}));
    QCOMPARE(alice.value(QLatin1String("enabled")).toBool(true), false);
    const QJsonObject limits = alice.value(QLatin1String("limits")).toObject();
    QCOMPARE(limits.value(QLatin1String("requests_per_minute")).toInt(), 60);
    QCOMPARE(limits.value(QLatin1String("output_tokens_per_minute")).toInt(), 8000);
    const QJsonObject budget = alice.value(QLatin1String("budget")).toObject();
    QCOMPARE(budget.value(QLatin1String("daily_usd")).toDouble(), 5.0);
    QCOMPARE(budget.value(QLatin1String("monthly_usd")).toDouble(), 100.5);
    QCOMPARE(store.load(KeyStore::Kind::Virtual, QStringLiteral("alice"), &error), secret);
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")});
    row = listRow(run.out, QStringLiteral("alice"));
    QCOMPARE(
        row.mid(1, 6),
        (QStringList {QStringLiteral("team-b"), QStringLiteral("claude-haiku-*,claude-sonnet-*"),
                      QStringLiteral("60 rpm, 8000 otpm"),
                      QStringLiteral("$5.00/day, $100.50/month"), QStringLiteral("no"), masked}));
    // An empty --models lifts the restriction again; enable is set --enable.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("set"), QStringLiteral("alice"),
                    QStringLiteral("--models"), QString()});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("enable"), QStringLiteral("alice")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    row = listRow(tollgate({QStringLiteral("vkeys"), QStringLiteral("list")}).out,
                  QStringLiteral("alice"));
    QCOMPARE(row.value(2), QStringLiteral("all"));
    QCOMPARE(row.value(3), QStringLiteral("60 rpm, 8000 otpm"));
    QCOMPARE(row.value(5), QStringLiteral("yes"));

    // rotate: a new secret, printed once like add's; the settings stay.
    const QByteArray settingsBefore = settingsText();
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("rotate"), QStringLiteral("alice")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    const QByteArray rotated = run.out.trimmed();
    QVERIFY2(VirtualKey::isGeneratedShape(rotated) && run.out.count('\n') == 1,
             run.out.constData());
    QVERIFY(rotated != secret);
    QVERIFY(!run.errors.contains(rotated));
    QVERIFY2(run.errors.contains("not shown again") && run.errors.contains("next start"),
             run.errors.constData());
    QCOMPARE(store.load(KeyStore::Kind::Virtual, QStringLiteral("alice"), &error), rotated);
    QCOMPARE(settingsText(), settingsBefore);
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")});
    QCOMPARE(listRow(run.out, QStringLiteral("alice")).value(6),
             QStringLiteral("tg-…") + QString::fromLatin1(rotated.right(4)));

    // A second key, and one whose keychain entry went missing.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("ci"),
                    QStringLiteral("--itpm"), QStringLiteral("0"), QStringLiteral("--streams"),
                    QStringLiteral("2"), QStringLiteral("--disabled")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    const QByteArray ciSecret = run.out.trimmed();
    QVERIFY(store.remove(KeyStore::Kind::Virtual, QStringLiteral("ci"), &error));
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")});
    QCOMPARE(run.exitCode, 0);
    row = listRow(run.out, QStringLiteral("ci"));
    QCOMPARE(row.value(3), QStringLiteral("300 rpm, 2 streams"));
    QCOMPARE(row.value(5), QStringLiteral("no"));
    QCOMPARE(row.value(6), QStringLiteral("(missing)"));

    // remove: keychain entry and settings entry.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("remove"), QStringLiteral("alice")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QCOMPARE(store.load(KeyStore::Kind::Virtual, QStringLiteral("alice"), &error), std::nullopt);
    QVERIFY(error.isEmpty());
    QVERIFY(!settingsText().contains("\"alice\""));
    QVERIFY(settingsText().contains("\"ci\""));
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("remove"), QStringLiteral("ci")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QVERIFY(!settingsText().contains("virtual_keys"));
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")});
    QVERIFY2(run.out.contains("no virtual keys"), run.out.constData());

    const QByteArray written = everythingWritten();
    for (const QByteArray &s : {secret, rotated, ciSecret})
        QVERIFY(!written.contains(s));
}

void tst_VirtualKeysCommand::listsKeysWhenTheRequestLogCannotBeRead()
{
    Run run = tollgate({QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("alice")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QFile log(m_database);
    QVERIFY(log.open(QIODevice::WriteOnly));
    log.write(QByteArray(8192, 'x')); // not a SQLite database
    log.close();
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QVERIFY2(run.errors.contains("request log") && run.errors.count('\n') == 1,
             run.errors.constData());
    const QStringList row = listRow(run.out, QStringLiteral("alice"));
    QCOMPARE(row.value(3), QStringLiteral("300 rpm"));
    QCOMPARE(row.mid(7), (QStringList {QStringLiteral("-"), QStringLiteral("-")}));
}

void tst_VirtualKeysCommand::servesEachKeyAsItsSettingsSay()
{
    m_mock->setHandler([](const MockRequest &request) {
        const QByteArray model = QJsonDocument::fromJson(request.body)
                                     .object()
                                     .value(QLatin1String("model"))
                                     .toString()
                                     .toUtf8();
        return MockUpstream::messageJson(model);
    });
    Run run = tollgate({QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("alice"),
                        QStringLiteral("--tag"), QStringLiteral("team-a")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    const QByteArray alice = run.out.trimmed();
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("haiku"),
                    QStringLiteral("--models"), QStringLiteral("claude-haiku-*")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    const QByteArray haiku = run.out.trimmed();
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("off"),
                    QStringLiteral("--disabled")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    const QByteArray off = run.out.trimmed();

    QProcess serving;
    QByteArray printed;
    const quint16 port = serve(serving, environment(), &printed);
    QVERIFY2(port != 0, printed.constData());
    TestClient client;
    client.connectTo(port);
    client.send("POST", "/v1/messages", {{"x-api-key", alice}},
                R"({"model":"claude-opus-4-5","max_tokens":1})");
    client.send("POST", "/v1/messages", {{"authorization", "Bearer " + haiku}},
                R"({"model":"claude-haiku-4-5","max_tokens":1})");
    client.send("POST", "/v1/messages", {{"x-api-key", haiku}},
                R"({"model":"claude-opus-4-5","max_tokens":1})");
    client.send("POST", "/v1/messages", {{"x-api-key", off}},
                R"({"model":"claude-haiku-4-5","max_tokens":1})");
    QVERIFY(client.waitForResponses(4));
    QCOMPARE(client.responses().at(0).status, 200);
    QCOMPARE(client.responses().at(1).status, 200);
    QCOMPARE(client.responses().at(2).status, 403);
    QVERIFY2(client.responses().at(2).body.contains("claude-haiku-*"),
             client.responses().at(2).body.constData());
    QCOMPARE(client.responses().at(3).status, 401);
    QVERIFY2(client.responses().at(3).body.contains("tollgate vkeys enable off"),
             client.responses().at(3).body.constData());
    // Only the admitted requests reached the upstream, with the upstream key.
    QCOMPARE(m_mock->requests().size(), 2);
    QCOMPARE(m_mock->requests().at(0).header("x-api-key"), kUpstreamKey);
    stop(serving, &printed);

    // The request log names each key and its tag, never a secret.
    const QList<QJsonObject> rows = requestLog();
    QCOMPARE(rows.size(), 4);
    QCOMPARE(rows.at(0).value(QLatin1String("virtual_key")).toString(), QStringLiteral("alice"));
    QCOMPARE(rows.at(0).value(QLatin1String("billing_tag")).toString(), QStringLiteral("team-a"));
    QCOMPARE(rows.at(0).value(QLatin1String("status")).toInt(), 200);
    QCOMPARE(rows.at(1).value(QLatin1String("virtual_key")).toString(), QStringLiteral("haiku"));
    QCOMPARE(rows.at(2).value(QLatin1String("status")).toInt(), 403);
    QCOMPARE(rows.at(3).value(QLatin1String("status")).toInt(), 401);

    // list shows what each key spent today.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")});
    QCOMPARE(run.exitCode, 0);
    const QStringList aliceRow = listRow(run.out, QStringLiteral("alice"));
    QVERIFY2(aliceRow.size() == 9 && aliceRow.at(7) != QLatin1String("$0.0000")
                 && aliceRow.at(7) == aliceRow.at(8),
             run.out.constData());
    QCOMPARE(listRow(run.out, QStringLiteral("off")).value(7), QStringLiteral("$0.0000"));

    // What the refusal says to do lets the key in from the next start.
    run = tollgate({QStringLiteral("vkeys"), QStringLiteral("enable"), QStringLiteral("off")});
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QCOMPARE(statusOfOneRequest(environment(), off, &printed), 200);

    const QByteArray written = everythingWritten();
    for (const QByteArray &secret : {alice, haiku, off}) {
        QVERIFY(!written.contains(secret));
        QVERIFY(!printed.contains(secret));
        QVERIFY(!run.out.contains(secret));
    }
}

void tst_VirtualKeysCommand::takesSecretsFromTheEnvironmentWithoutTouchingTheKeychain()
{
    // A server without a keychain: the entry written by hand, the secret in the environment.
    writeSettings(R"({"virtual_keys": {"ci": {"billing_tag": "builds"}}})");
    QProcessEnvironment env = withoutKeychain();
    env.insert(QStringLiteral("TOLLGATE_VIRTUAL_KEYS"),
               QStringLiteral(" ci = ") + QString::fromLatin1(kEnvironmentSecret));
    QByteArray printed;
    QCOMPARE(statusOfOneRequest(env, kEnvironmentSecret, &printed), 200);
    const QList<QJsonObject> rows = requestLog();
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows.at(0).value(QLatin1String("virtual_key")).toString(), QStringLiteral("ci"));
    QCOMPARE(rows.at(0).value(QLatin1String("billing_tag")).toString(), QStringLiteral("builds"));

    // list says where the secret comes from, masked, still without a keychain.
    const Run run = tollgate({QStringLiteral("vkeys"), QStringLiteral("list")}, env);
    QVERIFY2(run.exitCode == 0, run.errors.constData());
    QCOMPARE(listRow(run.out, QStringLiteral("ci")).value(6),
             QStringLiteral("tg-from-…6789 (TOLLGATE_VIRTUAL_KEYS)"));
    QVERIFY(!printed.contains(kEnvironmentSecret) && !run.out.contains(kEnvironmentSecret));
    QVERIFY(!everythingWritten().contains(kEnvironmentSecret));
}

void tst_VirtualKeysCommand::dropsAKeyWithoutASecretAndSaysHowToFixIt()
{
    writeSettings(R"({"virtual_keys": {"bob": {}, "ci": {}}})");
    KeyStore store;
    QString error;
    QVERIFY(store.store(KeyStore::Kind::Virtual, QStringLiteral("ci"), kEnvironmentSecret, &error));
    QByteArray printed;
    QCOMPARE(statusOfOneRequest(environment(), kEnvironmentSecret, &printed), 200);
    QVERIFY2(printed.contains("\"bob\"") && printed.contains("tollgate vkeys rotate bob"),
             printed.constData());
    QVERIFY(!printed.contains("\"ci\" but"));
}

void tst_VirtualKeysCommand::stopsWhenTheKeychainCannotBeRead()
{
    writeSettings(R"({"virtual_keys": {"ci": {}}})");
    QProcess serving;
    QByteArray printed;
    QCOMPARE(serve(serving, withoutKeychain(), &printed), quint16(0));
    QVERIFY(QTest::qWaitFor([&] { return serving.state() == QProcess::NotRunning; }, 20000));
    QCOMPARE(serving.exitCode(), 1);
    const QByteArray errors = serving.readAllStandardError();
    QVERIFY2(errors.contains("\"ci\"") && errors.contains("keychain")
                 && errors.contains("TOLLGATE_VIRTUAL_KEYS"),
             errors.constData());
}

void tst_VirtualKeysCommand::refusesBadEnvironment_data()
{
    QTest::addColumn<QByteArray>("value");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("no equals sign") << kEnvironmentSecret << 2 << QByteArray("entry 1 has no '='");
    QTest::newRow("empty secret") << QByteArray("ci=") << 2 << QByteArray("\"ci\" is empty");
    QTest::newRow("short secret") << QByteArray("ci=tg-short") << 2
                                  << QByteArray("virtual key \"ci\" is shorter than 16");
    QTest::newRow("alias twice") << "ci=" + kEnvironmentSecret + ",ci=" + kEnvironmentSecret + "x"
                                 << 2 << QByteArray("\"ci\" is used twice");
    QTest::newRow("unknown alias") << "cl=" + kEnvironmentSecret << 1
                                   << QByteArray("virtual key \"cl\", which the settings file "
                                                 "does not have");
}

void tst_VirtualKeysCommand::refusesBadEnvironment()
{
    QFETCH(QByteArray, value);
    QFETCH(int, exitCode);
    QFETCH(QByteArray, message);
    writeSettings(R"({"virtual_keys": {"ci": {}}})");
    QProcessEnvironment env = withoutKeychain();
    env.insert(QStringLiteral("TOLLGATE_VIRTUAL_KEYS"), QString::fromLatin1(value));
    QProcess serving;
    QByteArray printed;
    QCOMPARE(serve(serving, env, &printed), quint16(0));
    QVERIFY(QTest::qWaitFor([&] { return serving.state() == QProcess::NotRunning; }, 20000));
    QCOMPARE(serving.exitCode(), exitCode);
    const QByteArray errors = serving.readAllStandardError();
    QVERIFY2(errors.contains("TOLLGATE_VIRTUAL_KEYS") && errors.contains(message),
             errors.constData());
    QVERIFY(!errors.contains(kEnvironmentSecret) && !printed.contains(kEnvironmentSecret));
}

void tst_VirtualKeysCommand::refusesBadInput_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QByteArray>("message");
    const auto add = [](const QStringList &options) {
        return QStringList {QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("bob")}
        + options;
    };
    QTest::newRow("negative rpm") << add({QStringLiteral("--rpm"), QStringLiteral("-5")}) << 2
                                  << QByteArray("--rpm must be a whole number");
    QTest::newRow("fractional itpm")
        << add({QStringLiteral("--itpm=1.5")}) << 2 << QByteArray("--itpm must be a whole number");
    QTest::newRow("junk otpm") << add({QStringLiteral("--otpm"), QStringLiteral("lots")}) << 2
                               << QByteArray("--otpm must be a whole number");
    QTest::newRow("huge streams") << add({QStringLiteral("--streams"), QStringLiteral("1e9")}) << 2
                                  << QByteArray("--streams must be a whole number");
    QTest::newRow("negative budget")
        << add({QStringLiteral("--daily-usd=-1")}) << 2 << QByteArray("--daily-usd must be");
    QTest::newRow("junk budget") << add({QStringLiteral("--monthly-usd"), QStringLiteral("$20")})
                                 << 2 << QByteArray("--monthly-usd must be");
    QTest::newRow("not a number budget")
        << add({QStringLiteral("--monthly-usd"), QStringLiteral("nan")}) << 2
        << QByteArray("--monthly-usd must be");
    QTest::newRow("empty model glob")
        << add({QStringLiteral("--models"), QStringLiteral("claude-*,,x")}) << 2
        << QByteArray("--models takes");
    QTest::newRow("enable and disable")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("set"), QStringLiteral("bob"),
                        QStringLiteral("--enable"), QStringLiteral("--disable")}
        << 2 << QByteArray("contradict");
    QTest::newRow("billing-tag for tag")
        << add({QStringLiteral("--billing-tag"), QStringLiteral("x")}) << 2
        << QByteArray("takes --tag");
    QTest::newRow("set without change")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("set"), QStringLiteral("bob")} << 2
        << QByteArray("vkeys set needs something to change");
    QTest::newRow("option without vkeys")
        << QStringList {QStringLiteral("--rpm"), QStringLiteral("5")} << 2
        << QByteArray("belong to the vkeys add and vkeys set commands");
    QTest::newRow("option for list")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("list"), QStringLiteral("--tag"),
                        QStringLiteral("x")}
        << 2 << QByteArray("belong to the vkeys add and vkeys set commands");
    QTest::newRow("no alias") << QStringList {QStringLiteral("vkeys"), QStringLiteral("add")} << 2
                              << QByteArray("vkeys add needs an alias");
    QTest::newRow("secret pasted after alias")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("bob"),
                        QString::fromLatin1(kEnvironmentSecret)}
        << 2 << QByteArray("too many arguments");
    QTest::newRow("unknown action") << QStringList {QStringLiteral("vkeys"), QStringLiteral("show")}
                                    << 2 << QByteArray("vkeys takes add ALIAS, list");
    QTest::newRow("bad alias") << QStringList {QStringLiteral("vkeys"), QStringLiteral("add"),
                                               QStringLiteral("bob smith")}
                               << 2 << QByteArray("alias");
    QTest::newRow("reserved alias")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("add"), QStringLiteral("default")}
        << 2 << QByteArray("taken by Tollgate itself");
    QTest::newRow("key-shaped alias")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("rotate"),
                        QString::fromLatin1(kEnvironmentSecret)}
        << 2 << QByteArray("API key");
    QTest::newRow("remove unknown")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("remove"), QStringLiteral("nope")}
        << 1 << QByteArray("no virtual key \"nope\"");
    QTest::newRow("rotate unknown")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("rotate"), QStringLiteral("nope")}
        << 1 << QByteArray("no virtual key \"nope\"");
    QTest::newRow("disable unknown")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("disable"), QStringLiteral("nope")}
        << 1 << QByteArray("no virtual key \"nope\"");
    QTest::newRow("option for enable")
        << QStringList {QStringLiteral("vkeys"), QStringLiteral("enable"), QStringLiteral("bob"),
                        QStringLiteral("--rpm"), QStringLiteral("5")}
        << 2 << QByteArray("belong to the vkeys add and vkeys set commands");
    QTest::newRow("set unknown") << QStringList {QStringLiteral("vkeys"), QStringLiteral("set"),
                                                 QStringLiteral("nope"), QStringLiteral("--rpm"),
                                                 QStringLiteral("5")}
                                 << 1 << QByteArray("no virtual key \"nope\"");
}

void tst_VirtualKeysCommand::refusesBadInput()
{
    QFETCH(QStringList, arguments);
    QFETCH(int, exitCode);
    QFETCH(QByteArray, message);
    const QByteArray before = settingsText();
    const Run run = tollgate(arguments);
    QCOMPARE(run.exitCode, exitCode);
    QVERIFY2(run.errors.contains(message), run.errors.constData());
    // Nothing was made: no secret printed, the settings as they were.
    QVERIFY(run.out.isEmpty());
    QCOMPARE(settingsText(), before);
    QVERIFY(!run.errors.contains(kEnvironmentSecret));
}

QTEST_GUILESS_MAIN(tst_VirtualKeysCommand)
#include "tst_VirtualKeysCommand.moc"
