// The Settings page's values against a real settings file: what is loaded is what the file
// says, a change is saved and read back the same, and a wrong value writes nothing.
#include "SettingsForm.h"
#include "TestFiles.h"

#include <QFile>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QTest>

using namespace tollgate;
using namespace tollgate::test;

using Field = SettingsForm::Field;
using Storage = SettingsForm::Storage;

class tst_SettingsForm final : public QObject
{
    Q_OBJECT

private slots:
    void init();
    void showsTheDefaultsForAMissingFile();
    void loadsEveryField();
    void savesAChangeAndReadsItBackEqual();
    void writesOnlyTheChangedKeys();
    void keepsThePostgresqlPasswordOutOfTheConnection();
    void savesAChangedPostgresqlPassword();
    void savesAPricesFileTheGatewayReads();
    void loadsThePromptCache();
    void savesThePromptCacheTheGatewayReadsWithoutARestart();
    void emptyingAnOptionalFieldRemovesItsKey();
    void givesFieldErrorsAndWritesNothing_data();
    void givesFieldErrorsAndWritesNothing();
    void ignoresTheFieldsOfAnotherStorage();
    void refusesToSaveOverAFileItCannotRead();

private:
    QString path() const { return m_dir->filePath(QStringLiteral("config.json")); }
    QString databasePath() const { return m_dir->filePath(QStringLiteral("requests.sqlite")); }

    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_SettingsForm::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

void tst_SettingsForm::showsTheDefaultsForAMissingFile()
{
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY2(form.load(&error), qPrintable(error));
    const SettingsForm::Values values = form.loaded();
    QCOMPARE(values.listen, QStringLiteral("127.0.0.1"));
    QCOMPARE(values.port, QStringLiteral("8787"));
    QCOMPARE(values.upstream, QStringLiteral("https://api.anthropic.com"));
    QCOMPARE(values.storage, Storage::Sqlite);
    QCOMPARE(values.sqlitePath, databasePath());
    QCOMPARE(values.retentionDays, QStringLiteral("0"));
    QVERIFY(values.pricesFile.isEmpty());
    QVERIFY(values.billingTag.isEmpty());
    QVERIFY(values.injectsCache);
    QCOMPARE(values.cacheTtl, CacheInjector::Ttl::FiveMinutes);
    QVERIFY(SettingsForm::validate(values).isEmpty());

    // Saving the defaults unchanged writes nothing, not even an empty file.
    SettingsForm::Errors errors;
    QCOMPARE(form.save(values, &errors, &error), SettingsForm::SaveResult::Unchanged);
    QVERIFY(!QFile::exists(path()));
}

void tst_SettingsForm::loadsEveryField()
{
    writeAll(path(), R"({"listen": "0.0.0.0", "port": 9100, "upstream": "https://gw.example/v",
                        "database": "/var/lib/tollgate/log.sqlite", "retention_days": 90,
                        "billing_tag": "team-a", "timeouts": {"idle": 30}})");
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY2(form.load(&error), qPrintable(error));
    const SettingsForm::Values values = form.loaded();
    QCOMPARE(values.listen, QStringLiteral("0.0.0.0"));
    QCOMPARE(values.port, QStringLiteral("9100"));
    QCOMPARE(values.upstream, QStringLiteral("https://gw.example/v"));
    QCOMPARE(values.storage, Storage::Sqlite);
    QCOMPARE(values.sqlitePath, QStringLiteral("/var/lib/tollgate/log.sqlite"));
    QCOMPARE(values.retentionDays, QStringLiteral("90"));
    QCOMPARE(values.billingTag, QStringLiteral("team-a"));

    writeAll(path(), R"({"database": "off"})");
    QVERIFY(form.load(&error));
    QCOMPARE(form.loaded().storage, Storage::Off);
}

void tst_SettingsForm::savesAChangeAndReadsItBackEqual()
{
    writeAll(path(), R"({"port": 8787, "billing_tag": "team-a"})");
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY2(form.load(&error), qPrintable(error));
    SettingsForm::Values edited = form.loaded();
    edited.listen = QStringLiteral("127.0.0.2");
    edited.port = QStringLiteral("9200");
    edited.upstream = QStringLiteral("https://upstream.example");
    edited.sqlitePath = m_dir->filePath(QStringLiteral("other.sqlite"));
    edited.retentionDays = QStringLiteral("30");
    edited.billingTag = QStringLiteral("team-b");
    QVERIFY(form.isModified(edited));
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    QVERIFY(errors.isEmpty());
    QCOMPARE(form.loaded(), edited);
    QVERIFY(!form.isModified(edited));

    SettingsForm reloaded(path(), databasePath());
    QVERIFY2(reloaded.load(&error), qPrintable(error));
    QCOMPARE(reloaded.loaded(), edited);

    // And the gateway reads the same.
    GatewayConfig config;
    QVERIFY2(ConfigFile::load(path(), true, &config, &error), qPrintable(error));
    QCOMPARE(config.port, quint16(9200));
    QCOMPARE(config.listenAddress, QHostAddress(QStringLiteral("127.0.0.2")));
    QCOMPARE(config.store->sqlitePath, edited.sqlitePath);
    QCOMPARE(config.retentionDays, 30);
    QCOMPARE(config.billingTag, QStringLiteral("team-b"));
}

void tst_SettingsForm::writesOnlyTheChangedKeys()
{
    const QJsonObject prices {{QStringLiteral("my-model"),
                               QJsonObject {{QStringLiteral("input"), QStringLiteral("3")},
                                            {QStringLiteral("output"), QStringLiteral("15")}}}};
    writeAll(path(),
             QJsonDocument(QJsonObject {{QStringLiteral("prices"), prices},
                                        {QStringLiteral("a_newer_setting"), 1}})
                 .toJson());
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY2(form.load(&error), qPrintable(error));
    SettingsForm::Values edited = form.loaded();
    edited.port = QStringLiteral(" 9300 ");
    QCOMPARE(SettingsForm::changes(form.loaded(), edited),
             (QJsonObject {{QStringLiteral("port"), 9300}}));
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    QCOMPARE(objectOfFile(path()),
             (QJsonObject {{QStringLiteral("prices"), prices},
                           {QStringLiteral("a_newer_setting"), 1},
                           {QStringLiteral("port"), 9300}}));
}

void tst_SettingsForm::keepsThePostgresqlPasswordOutOfTheConnection()
{
    writeAll(path(),
             R"({"database": "postgresql://tg:s%40cret@db.example:5433/ledger?sslmode=require"})");
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY2(form.load(&error), qPrintable(error));
    const SettingsForm::Values values = form.loaded();
    QCOMPARE(values.storage, Storage::Postgresql);
    QCOMPARE(values.postgresqlConnection,
             QStringLiteral("postgresql://tg@db.example:5433/ledger?sslmode=require"));
    QVERIFY(!values.postgresqlConnection.contains(QStringLiteral("cret")));
    QCOMPARE(values.postgresqlPassword, QStringLiteral("s@cret"));

    // Unchanged, the user's own string stays as written.
    SettingsForm::Values edited = values;
    edited.billingTag = QStringLiteral("x");
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    QCOMPARE(objectOfFile(path()).value(QStringLiteral("database")).toString(),
             QStringLiteral("postgresql://tg:s%40cret@db.example:5433/ledger?sslmode=require"));
}

void tst_SettingsForm::savesAChangedPostgresqlPassword()
{
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY(form.load(&error));
    SettingsForm::Values edited = form.loaded();
    edited.storage = Storage::Postgresql;
    edited.postgresqlConnection = QStringLiteral("host=/run/postgresql dbname=ledger user=tg");
    edited.postgresqlPassword = QStringLiteral("p@ss word:/'");
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    QCOMPARE(form.loaded().postgresqlPassword, edited.postgresqlPassword);
    QVERIFY(!form.loaded().postgresqlConnection.contains(QStringLiteral("p@ss")));

    GatewayConfig config;
    QVERIFY2(ConfigFile::load(path(), true, &config, &error), qPrintable(error));
    QCOMPARE(config.store->backend, StoreConfig::Backend::Postgresql);
    QCOMPARE(config.store->host, QStringLiteral("/run/postgresql"));
    QCOMPARE(config.store->databaseName, QStringLiteral("ledger"));
    QCOMPARE(config.store->userName, QStringLiteral("tg"));
    QCOMPARE(config.store->password, edited.postgresqlPassword);

    // Clearing the field removes the password.
    edited = form.loaded();
    edited.postgresqlPassword.clear();
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    QVERIFY(ConfigFile::load(path(), true, &config, &error));
    QVERIFY(config.store->password.isEmpty());
}

void tst_SettingsForm::savesAPricesFileTheGatewayReads()
{
    const QString pricesPath = m_dir->filePath(QStringLiteral("team-prices.json"));
    writeAll(pricesPath, R"({"models": {"team-model": {"input": "1", "output": "2"}}})");
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY(form.load(&error));
    SettingsForm::Values edited = form.loaded();
    edited.pricesFile = pricesPath;
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    GatewayConfig config;
    QVERIFY2(ConfigFile::load(path(), true, &config, &error), qPrintable(error));
    QVERIFY(config.priceOverrides.contains(QStringLiteral("team-model")));
}

void tst_SettingsForm::loadsThePromptCache()
{
    writeAll(path(), R"({"prompt_cache": {"inject": false, "ttl": "1h"}})");
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY2(form.load(&error), qPrintable(error));
    QVERIFY(!form.loaded().injectsCache);
    QCOMPARE(form.loaded().cacheTtl, CacheInjector::Ttl::OneHour);
    const CacheInjector::Policy policy = SettingsForm::promptCachePolicy(form.loaded());
    QVERIFY(!policy.isEnabled);
    QCOMPARE(policy.ttl, CacheInjector::Ttl::OneHour);

    // Only the ttl given: injection stays on, as the gateway reads it.
    writeAll(path(), R"({"prompt_cache": {"ttl": "1h"}})");
    QVERIFY2(form.load(&error), qPrintable(error));
    QVERIFY(form.loaded().injectsCache);
    QCOMPARE(form.loaded().cacheTtl, CacheInjector::Ttl::OneHour);
}

void tst_SettingsForm::savesThePromptCacheTheGatewayReadsWithoutARestart()
{
    const QJsonObject prices {{QStringLiteral("my-model"),
                               QJsonObject {{QStringLiteral("input"), QStringLiteral("3")},
                                            {QStringLiteral("output"), QStringLiteral("15")}}}};
    writeAll(path(),
             QJsonDocument(
                 QJsonObject {{QStringLiteral("port"), 8787}, {QStringLiteral("prices"), prices}})
                 .toJson());
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY2(form.load(&error), qPrintable(error));
    SettingsForm::Values edited = form.loaded();
    edited.cacheTtl = CacheInjector::Ttl::OneHour;
    const QJsonObject oneHour {{QStringLiteral("inject"), true},
                               {QStringLiteral("ttl"), QStringLiteral("1h")}};
    QCOMPARE(SettingsForm::changes(form.loaded(), edited),
             (QJsonObject {{QStringLiteral("prompt_cache"), oneHour}}));
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    QCOMPARE(objectOfFile(path()),
             (QJsonObject {{QStringLiteral("port"), 8787},
                           {QStringLiteral("prices"), prices},
                           {QStringLiteral("prompt_cache"), oneHour}}));
    QVERIFY(SettingsForm::changesPromptCache(form.lastChanges()));
    QVERIFY(!SettingsForm::needsRestart(form.lastChanges()));
    QCOMPARE(form.loaded(), edited);

    // Off: the gateway reads it so, and a reopened form shows it.
    edited.injectsCache = false;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    GatewayConfig config;
    QVERIFY2(ConfigFile::load(path(), true, &config, &error), qPrintable(error));
    QVERIFY(!config.cacheInjection.isEnabled);
    QCOMPARE(config.cacheInjection.ttl, CacheInjector::Ttl::OneHour);
    SettingsForm reopened(path(), databasePath());
    QVERIFY2(reopened.load(&error), qPrintable(error));
    QCOMPARE(reopened.loaded(), edited);

    // With another setting the gateway must restart; unchanged, nothing is written.
    edited.injectsCache = true;
    edited.port = QStringLiteral("9100");
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    QVERIFY(SettingsForm::changesPromptCache(form.lastChanges()));
    QVERIFY(SettingsForm::needsRestart(form.lastChanges()));
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Unchanged);
    QVERIFY(form.lastChanges().isEmpty());
}

void tst_SettingsForm::emptyingAnOptionalFieldRemovesItsKey()
{
    writeAll(path(), R"({"billing_tag": "team-a", "port": 8787})");
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY(form.load(&error));
    SettingsForm::Values edited = form.loaded();
    edited.billingTag = QStringLiteral("  ");
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Written);
    QCOMPARE(objectOfFile(path()), (QJsonObject {{QStringLiteral("port"), 8787}}));
}

void tst_SettingsForm::givesFieldErrorsAndWritesNothing_data()
{
    QTest::addColumn<int>("field");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("expected");
    QTest::newRow("port too high")
        << int(Field::Port) << QStringLiteral("70000") << QStringLiteral("Port must be 0–65535.");
    QTest::newRow("port not a number")
        << int(Field::Port) << QStringLiteral("80a") << QStringLiteral("Port must be 0–65535.");
    QTest::newRow("port negative")
        << int(Field::Port) << QStringLiteral("-1") << QStringLiteral("Port must be 0–65535.");
    QTest::newRow("listen name") << int(Field::Listen) << QStringLiteral("localhost")
                                 << QStringLiteral("IP address");
    QTest::newRow("upstream scheme")
        << int(Field::Upstream) << QStringLiteral("ftp://x.example") << QStringLiteral("https://");
    QTest::newRow("upstream empty")
        << int(Field::Upstream) << QString() << QStringLiteral("https://");
    QTest::newRow("sqlite relative")
        << int(Field::SqlitePath) << QStringLiteral("log.sqlite") << QStringLiteral("full path");
    QTest::newRow("sqlite url") << int(Field::SqlitePath) << QStringLiteral("mysql://h/db")
                                << QStringLiteral("PostgreSQL");
    QTest::newRow("retention") << int(Field::RetentionDays) << QStringLiteral("1.5")
                               << QStringLiteral("days");
    QTest::newRow("prices relative")
        << int(Field::PricesFile) << QStringLiteral("p.json") << QStringLiteral("absolute");
    QTest::newRow("prices missing") << int(Field::PricesFile) << QStringLiteral("/nonexistent.json")
                                    << QStringLiteral("cannot read");
    QTest::newRow("billing tag") << int(Field::BillingTag) << QStringLiteral("a\nb")
                                 << QStringLiteral("control");
}

void tst_SettingsForm::givesFieldErrorsAndWritesNothing()
{
    QFETCH(int, field);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    const QByteArray before = R"({"port": 8787})";
    writeAll(path(), before);
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY(form.load(&error));
    SettingsForm::Values edited = form.loaded();
    edited.billingTag = QStringLiteral("would be saved");
    switch (Field(field)) {
    case Field::Port:
        edited.port = value;
        break;
    case Field::Listen:
        edited.listen = value;
        break;
    case Field::Upstream:
        edited.upstream = value;
        break;
    case Field::SqlitePath:
        edited.sqlitePath = value;
        break;
    case Field::RetentionDays:
        edited.retentionDays = value;
        break;
    case Field::PricesFile:
        edited.pricesFile = value;
        break;
    case Field::BillingTag:
        edited.billingTag = value;
        break;
    case Field::PostgresqlConnection:
        QFAIL("not a row of this table");
    }
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Invalid);
    QCOMPARE(errors.keys(), QList<Field> {Field(field)});
    QVERIFY2(errors.value(Field(field)).contains(expected), qPrintable(errors.value(Field(field))));
    QCOMPARE(readAll(path()), before);
}

void tst_SettingsForm::ignoresTheFieldsOfAnotherStorage()
{
    SettingsForm::Values values = SettingsForm::fromSettings({}, databasePath());
    values.storage = Storage::Postgresql;
    values.sqlitePath = QStringLiteral("relative.sqlite");
    values.postgresqlConnection = QStringLiteral("postgresql://h/db?sslmode=always");
    const SettingsForm::Errors errors = SettingsForm::validate(values);
    QCOMPARE(errors.keys(), QList<Field> {Field::PostgresqlConnection});
    QVERIFY(errors.value(Field::PostgresqlConnection).contains(QStringLiteral("sslmode")));

    values.storage = Storage::Off;
    QVERIFY(SettingsForm::validate(values).isEmpty());
    QCOMPARE(SettingsForm::changes(SettingsForm::fromSettings({}, databasePath()), values),
             (QJsonObject {{QStringLiteral("database"), QStringLiteral("off")}}));
}

void tst_SettingsForm::refusesToSaveOverAFileItCannotRead()
{
    const QByteArray before = R"({"port": 87)";
    writeAll(path(), before);
    SettingsForm form(path(), databasePath());
    QString error;
    QVERIFY(!form.load(&error));
    QVERIFY(error.contains(QStringLiteral("not valid JSON")));
    SettingsForm::Values edited = form.loaded();
    edited.port = QStringLiteral("9000");
    SettingsForm::Errors errors;
    QCOMPARE(form.save(edited, &errors, &error), SettingsForm::SaveResult::Failed);
    QCOMPARE(readAll(path()), before);
}

QTEST_GUILESS_MAIN(tst_SettingsForm)
#include "tst_SettingsForm.moc"
