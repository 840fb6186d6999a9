#pragma once

#include <QDialog>
#include <QStringList>

class QLabel;
class QLineEdit;
class QPushButton;

namespace tollgate {

// Asks for a new upstream key: an alias and the key itself, typed into a password field
// that never shows it. On OK it hands both over with keyEntered() and empties the field at
// once, so the key stays on screen no longer than it is typed. An alias of a key from the
// environment cannot be taken; one of the keychain's replaces that key.
class UpstreamKeyDialog : public QDialog
{
    Q_OBJECT

public:
    // takenAliases: keys that are not the keychain's (environment, key file);
    // keychainAliases: keys an entry would replace.
    UpstreamKeyDialog(const QStringList &takenAliases, const QStringList &keychainAliases,
                      QWidget *parent = nullptr);
    ~UpstreamKeyDialog() override;

    QLineEdit *aliasEdit() const { return m_alias; }
    QLineEdit *keyEdit() const { return m_key; }
    QPushButton *storeButton() const { return m_store; }
    QString errorText() const;

    // Why the key cannot be taken as typed; empty when it can. The text never quotes it.
    static QString keyProblem(const QString &key);

signals:
    void keyEntered(const QString &alias, const QByteArray &key);

public slots:
    void accept() override;
    void reject() override;

private:
    void check();
    QString problem() const;

    QStringList m_taken;
    QStringList m_keychain;
    QLineEdit *m_alias = nullptr;
    QLineEdit *m_key = nullptr;
    QLabel *m_note = nullptr;
    QLabel *m_error = nullptr;
    QPushButton *m_store = nullptr;
};

} // namespace tollgate
