#include "ClientRun.h"

#include "GatewayHarness.h"

#include <QFile>
#include <QJsonDocument>
#include <QProcess>
#include <QTest>

namespace tollgate::test {

QString ClientRun::e2eDir()
{
    return QStringLiteral(TOLLGATE_E2E_DIR);
}

bool ClientRun::hasPackage(const QString &name)
{
    return QFile::exists(e2eDir() + QStringLiteral("/node_modules/") + name
                         + QStringLiteral("/package.json"));
}

QProcessEnvironment ClientRun::anthropicEnvironment(quint16 gatewayPort)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("ANTHROPIC_BASE_URL"),
               QStringLiteral("http://127.0.0.1:%1").arg(gatewayPort));
    env.insert(QStringLiteral("ANTHROPIC_API_KEY"),
               QString::fromLatin1(GatewayHarness::virtualKey()));
    env.remove(QStringLiteral("ANTHROPIC_AUTH_TOKEN"));
    return env;
}

QProcessEnvironment ClientRun::openAiEnvironment(quint16 gatewayPort)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OPENAI_BASE_URL"),
               QStringLiteral("http://127.0.0.1:%1/v1").arg(gatewayPort));
    env.insert(QStringLiteral("OPENAI_API_KEY"), QString::fromLatin1(GatewayHarness::virtualKey()));
    env.remove(QStringLiteral("OPENAI_ORG_ID"));
    env.remove(QStringLiteral("OPENAI_PROJECT_ID"));
    return env;
}

QProcessEnvironment ClientRun::claudeCodeEnvironment(quint16 gatewayPort, const QString &home)
{
    QProcessEnvironment env = anthropicEnvironment(gatewayPort);
    env.insert(QStringLiteral("HOME"), home);
    env.insert(QStringLiteral("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"), QStringLiteral("1"));
    return env;
}

bool ClientRun::runNode(const QString &script, const QProcessEnvironment &environment,
                        int timeoutMs)
{
    return run(QStringLiteral("node"), {script}, e2eDir(), environment, timeoutMs);
}

bool ClientRun::runClaudeCode(const QString &prompt, const QString &allowedTools,
                              const QString &workingDirectory,
                              const QProcessEnvironment &environment, int timeoutMs)
{
    const QStringList arguments = {QStringLiteral("-p"),
                                   prompt,
                                   QStringLiteral("--output-format"),
                                   QStringLiteral("json"),
                                   QStringLiteral("--allowedTools"),
                                   allowedTools};
    return run(e2eDir() + QStringLiteral("/node_modules/.bin/claude"), arguments, workingDirectory,
               environment, timeoutMs);
}

bool ClientRun::run(const QString &program, const QStringList &arguments,
                    const QString &workingDirectory, const QProcessEnvironment &environment,
                    int timeoutMs)
{
    QProcess process;
    process.setWorkingDirectory(workingDirectory);
    process.setProcessEnvironment(environment);
    process.start(program, arguments);
    // Spins the event loop, so the in-process gateway and mocks keep answering meanwhile.
    const bool hasEnded =
        QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, timeoutMs);
    m_output = process.readAllStandardOutput();
    m_errors = process.readAllStandardError();
    const bool hasStarted = process.error() != QProcess::FailedToStart;
    if (!hasStarted)
        m_errors += process.errorString().toUtf8();
    m_hasSucceeded = hasEnded && hasStarted && process.exitStatus() == QProcess::NormalExit
        && process.exitCode() == 0;
    return hasEnded; // a process still running is killed by ~QProcess
}

QJsonObject ClientRun::lastJsonLine() const
{
    return QJsonDocument::fromJson(m_output.trimmed().split('\n').last()).object();
}

} // namespace tollgate::test
