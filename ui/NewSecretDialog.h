#pragma once

#include <QDialog>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace tollgate {

// Shows a new virtual key's secret the one time Tollgate shows it: in a read-only field
// with a Copy button, with the two export lines that point a client at Tollgate, and a
// warning that it will not be shown again. Closing the dialog forgets it.
class NewSecretDialog : public QDialog
{
    Q_OBJECT

public:
    // baseUrl: what clients set as ANTHROPIC_BASE_URL.
    NewSecretDialog(const QString &alias, const QByteArray &secret, const QString &baseUrl,
                    QWidget *parent = nullptr);
    ~NewSecretDialog() override;

    QString secretText() const;
    QString setupCommands() const;
    QPushButton *copyButton() const { return m_copy; }
    QPushButton *copyCommandsButton() const { return m_copyCommands; }

protected:
    void done(int result) override;

private:
    void forget();

    QLineEdit *m_secret = nullptr;
    QPlainTextEdit *m_commands = nullptr;
    QPushButton *m_copy = nullptr;
    QPushButton *m_copyCommands = nullptr;
    QLabel *m_copied = nullptr;
};

} // namespace tollgate
