#pragma once

#include "routing/Route.h"

#include <QDialog>
#include <QStringList>
#include <functional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace tollgate {

// Adds or edits one rule of the settings' "routes": the model pattern it takes, its
// conditions (a virtual key, thinking on or off, a minimum prompt size), the provider and
// the fallbacks tried after it, and the model name the provider gets. Saving is the
// caller's: the dialog stays open with the caller's error (the settings file's own check,
// such as an unknown provider) when that fails.
class RouteDialog : public QDialog
{
    Q_OBJECT

public:
    enum class Mode { Add, Edit };
    // Saves the rule; returns why it was not saved, or an empty string.
    using Save = std::function<QString(const Route &route)>;

    // providers: the names a rule can send to ("anthropic" first); virtualKeys: the
    // aliases offered for the virtual key condition.
    RouteDialog(Mode mode, const Route &route, const QStringList &providers,
                const QStringList &virtualKeys, Save save, QWidget *parent = nullptr);

    // The rule as entered.
    Route route() const;
    QString errorText() const;

    QLineEdit *modelEdit() const { return m_model; }
    QComboBox *providerBox() const { return m_provider; }
    QLineEdit *fallbackEdit() const { return m_fallback; }
    QComboBox *virtualKeyBox() const { return m_virtualKey; }
    QComboBox *thinkingBox() const { return m_thinking; }
    QSpinBox *minPromptTokensBox() const { return m_minTokens; }
    QLineEdit *rewriteModelEdit() const { return m_rewrite; }
    QPushButton *okButton() const { return m_ok; }

public slots:
    void accept() override;

private:
    void check();
    QString problem() const;
    void showError(const QString &error);

    Save m_save;
    QLineEdit *m_model = nullptr;
    QComboBox *m_provider = nullptr;
    QLineEdit *m_fallback = nullptr;
    QComboBox *m_virtualKey = nullptr;
    QComboBox *m_thinking = nullptr;
    QSpinBox *m_minTokens = nullptr;
    QLineEdit *m_rewrite = nullptr;
    QLabel *m_error = nullptr;
    QPushButton *m_ok = nullptr;
};

} // namespace tollgate
