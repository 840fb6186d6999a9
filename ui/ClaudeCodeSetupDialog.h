#pragma once

#include <QByteArray>
#include <QDialog>
#include <QString>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace tollgate {

// "Configure Claude Code…": shows the two environment variables that point a client at the
// gateway (with a button to copy them), and applies them to or takes them out of Claude
// Code's settings file through ClaudeCodeSettings, saying what happened. Open it with
// open() or show(): it never runs an event loop of its own.
class ClaudeCodeSetupDialog : public QDialog
{
    Q_OBJECT

public:
    // baseUrl: the gateway, http://127.0.0.1:PORT; virtualKey: the key clients present;
    // settingsPath: Claude Code's settings file (ClaudeCodeSettings::defaultPath()).
    ClaudeCodeSetupDialog(const QString &baseUrl, const QByteArray &virtualKey,
                          const QString &settingsPath, QWidget *parent = nullptr);
    ~ClaudeCodeSetupDialog() override;

    // The two lines as shown, in the chosen shell's syntax (ClientSetup::Shell).
    QString commands() const;
    void setShell(int shell);

    // What the last Copy, Apply or Undo did, as shown.
    QString resultText() const;

public slots:
    void copyCommands();
    void applyToClaudeCode();
    void undoClaudeCode();

private:
    QString commandsText() const;
    void showResult(const QString &text);
    void updateButtons();

    QString m_baseUrl;
    QByteArray m_virtualKey;
    QString m_settingsPath;
    QComboBox *m_shell = nullptr;
    QPlainTextEdit *m_commands = nullptr;
    QPushButton *m_copyButton = nullptr;
    QPushButton *m_applyButton = nullptr;
    QPushButton *m_undoButton = nullptr;
    QLabel *m_result = nullptr;
};

} // namespace tollgate
