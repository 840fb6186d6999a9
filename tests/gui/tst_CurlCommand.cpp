// "Copy as curl": a logged request as a command that a POSIX shell runs as it reads, with the
// key from $ANTHROPIC_API_KEY and never a credential from the log, and every other header the
// client sent. The quoting is checked by running the command's words through a real shell.
#include "CurlCommand.h"

#include <QProcess>
#include <QStandardPaths>
#include <QTest>

using namespace tollgate;

namespace {

const QString kBase = QStringLiteral("http://127.0.0.1:8787");

RequestRecord loggedRequest()
{
    RequestRecord r;
    r.method = "POST";
    r.target = "/v1/messages?beta=true";
    r.isStreaming = true;
    r.requestHeaders = "Host: 127.0.0.1:8787\r\n"
                       "x-api-key: tg-local-…wxyz\r\n"
                       "Authorization: Bearer sk-ant-oat01-…abcd\r\n"
                       "Cookie: session=…\r\n"
                       "Content-Length: 1234\r\n"
                       "Connection: keep-alive\r\n"
                       "anthropic-version: 2023-06-01\r\n"
                       "anthropic-beta: prompt-caching-2024-07-31,oauth-2025-04-20\r\n"
                       "content-type: application/json\r\n"
                       "user-agent: claude-cli/2.0.0 (external, cli)\r\n"
                       "x-claude-code-session-id: 4f1c-it's-a-session\r\n"
                       "x-stainless-retry-count: 0\r\n";
    return r;
}

// The words a POSIX shell makes of the command (the variable left unexpanded), one per line.
QStringList shellWords(const QString &command)
{
    const QString shell = QStandardPaths::findExecutable(QStringLiteral("sh"));
    if (shell.isEmpty())
        return {};
    QProcess process;
    // "curl" is replaced by a function that prints its arguments, one per line.
    const QString script = QStringLiteral("curl() { for a in \"$@\"; do printf '%s\\n--\\n' "
                                          "\"$a\"; done; }\nANTHROPIC_API_KEY=KEY\n")
        + command + u'\n';
    process.start(shell, {QStringLiteral("-c"), script});
    process.waitForFinished(10'000);
    QStringList words = QString::fromUtf8(process.readAllStandardOutput())
                            .split(QStringLiteral("\n--\n"), Qt::SkipEmptyParts);
    return words;
}

} // namespace

class tst_CurlCommand final : public QObject
{
    Q_OBJECT

private slots:
    void quotesWordsForTheShell_data();
    void quotesWordsForTheShell();
    void neverCarriesACredential();
    void keepsEveryOtherHeader();
    void sendsTheLoggedBodyIntact();
    void notesAMissingBodyAndReadsItFromAFile();
    void namesMethodsCurlDoesNotImply();
    void redactsKeysInTheBody();
};

void tst_CurlCommand::quotesWordsForTheShell_data()
{
    QTest::addColumn<QString>("word");
    QTest::newRow("plain") << QStringLiteral("claude-opus-4-6");
    QTest::newRow("single quote") << QStringLiteral("it's");
    QTest::newRow("only quotes") << QStringLiteral("''");
    QTest::newRow("newline") << QStringLiteral("line one\nline two\n");
    QTest::newRow("dollar and backticks") << QStringLiteral("$HOME `id` $(id) \\n \"x\"");
    QTest::newRow("glob and semicolon") << QStringLiteral("*; rm -rf / #");
    QTest::newRow("unicode") << QStringLiteral("héllo … 日本");
}

void tst_CurlCommand::quotesWordsForTheShell()
{
    QFETCH(QString, word);
    const QString quoted = CurlCommand::shellQuote(word);
    const QStringList words = shellWords(QStringLiteral("curl ") + quoted);
    QCOMPARE(words, QStringList {word});
    QCOMPARE(CurlCommand::shellQuote(QStringLiteral("simple/word:1")),
             QStringLiteral("simple/word:1"));
}

void tst_CurlCommand::neverCarriesACredential()
{
    RequestRecord r = loggedRequest();
    // Even a log that kept a credential whole (it should not) never leaks it.
    r.requestHeaders += "X-Api-Key: sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n";
    const QString command = CurlCommand::build(r, kBase);
    QVERIFY(!command.contains(QStringLiteral("sk-ant")));
    QVERIFY(!command.contains(QStringLiteral("tg-local")));
    QVERIFY(!command.contains(QStringLiteral("Bearer")));
    QVERIFY(!command.contains(QStringLiteral("Cookie"), Qt::CaseInsensitive));
    QCOMPARE(command.count(QStringLiteral("x-api-key"), Qt::CaseInsensitive), 1);
    QVERIFY(command.contains(QStringLiteral("-H \"x-api-key: $ANTHROPIC_API_KEY\"")));

    const QStringList words = shellWords(command);
    QVERIFY(words.contains(QStringLiteral("x-api-key: KEY")));
    QCOMPARE(words.first(), QStringLiteral("http://127.0.0.1:8787/v1/messages?beta=true"));
}

void tst_CurlCommand::keepsEveryOtherHeader()
{
    const QStringList words = shellWords(CurlCommand::build(loggedRequest(), kBase + u'/'));
    const QStringList expected = {
        QStringLiteral("anthropic-version: 2023-06-01"),
        QStringLiteral("anthropic-beta: prompt-caching-2024-07-31,oauth-2025-04-20"),
        QStringLiteral("content-type: application/json"),
        QStringLiteral("user-agent: claude-cli/2.0.0 (external, cli)"),
        QStringLiteral("x-claude-code-session-id: 4f1c-it's-a-session"),
        QStringLiteral("x-stainless-retry-count: 0"),
    };
    for (const QString &header : expected)
        QVERIFY2(words.contains(header), qPrintable(header));
    // curl writes its own Host, Content-Length and connection headers.
    for (const QString &word : words) {
        QVERIFY2(!word.startsWith(QStringLiteral("Host:")), qPrintable(word));
        QVERIFY2(!word.startsWith(QStringLiteral("Content-Length:")), qPrintable(word));
        QVERIFY2(!word.startsWith(QStringLiteral("Connection:")), qPrintable(word));
    }
    QVERIFY(words.contains(QStringLiteral("--no-buffer"))); // a stream shows as it arrives
}

void tst_CurlCommand::sendsTheLoggedBodyIntact()
{
    RequestRecord r = loggedRequest();
    r.storedRequestBody = R"({"model":"claude-opus-4-6","messages":[{"role":"user",)"
                          R"("content":"it's a\nmulti-line 'quoted' $HOME `x` text\n"}]})"
                          "\nreal newline";
    const QString command = CurlCommand::build(r, kBase);
    QVERIFY(!command.contains(QStringLiteral("request.json")));
    const QStringList words = shellWords(command);
    const qsizetype data = words.indexOf(QStringLiteral("--data-binary"));
    QVERIFY(data > 0);
    QCOMPARE(words.at(data + 1), QString::fromUtf8(r.storedRequestBody));
    QVERIFY(!words.contains(QStringLiteral("-X"))); // POST is what --data-binary sends
}

void tst_CurlCommand::notesAMissingBodyAndReadsItFromAFile()
{
    const QString command = CurlCommand::build(loggedRequest(), kBase);
    QVERIFY(command.startsWith(u'#'));
    QVERIFY(command.contains(QStringLiteral("not logged")));
    const QStringList words = shellWords(command);
    QCOMPARE(words.last(), QStringLiteral("@request.json"));
}

void tst_CurlCommand::namesMethodsCurlDoesNotImply()
{
    RequestRecord r;
    r.method = "GET";
    r.target = "/v1/models";
    QStringList words = shellWords(CurlCommand::build(r, kBase));
    QVERIFY(!words.contains(QStringLiteral("-X")));
    QVERIFY(!words.contains(QStringLiteral("--data-binary")));
    QCOMPARE(words.first(), QStringLiteral("http://127.0.0.1:8787/v1/models"));

    r.method = "DELETE";
    r.target = "/v1/files/file_1";
    words = shellWords(CurlCommand::build(r, kBase));
    QCOMPARE(words.at(words.indexOf(QStringLiteral("-X")) + 1), QStringLiteral("DELETE"));
}

void tst_CurlCommand::redactsKeysInTheBody()
{
    RequestRecord r = loggedRequest();
    r.storedRequestBody = R"({"note":"my key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123"})";
    const QString command = CurlCommand::build(r, kBase);
    QVERIFY(!command.contains(QStringLiteral("abcdefghijklmnop")));
    QVERIFY(command.contains(QStringLiteral("0123")));
}

QTEST_GUILESS_MAIN(tst_CurlCommand)
#include "tst_CurlCommand.moc"
