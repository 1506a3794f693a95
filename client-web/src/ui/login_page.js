// The login page: email and password, with the server's refusals in plain words. The session
// is the HttpOnly cookie the server sets; this page never sees it.

import { login } from './api.js';
import { h, replaceChildren } from './dom.js';

/// What a failed login says (`error` from api.js's login).
export function loginProblem(error) {
  if (error.code === 'invalid_credentials') {
    return 'That email and password do not match an account. Check both and try again.';
  }
  if (error.code === 'too_many_attempts') {
    const minutes = Math.max(1, Math.ceil((error.retryAfter || 900) / 60));
    return `Too many attempts to log in. For your account's safety, please wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`;
  }
  if (error.code === 'origin_not_allowed') return 'This server does not accept logins from this address. Open Jointly at its usual address.';
  return error.message;
}

/// Shows the login form in `root`; `onLoggedIn(user)` is called once the server accepted it.
/// `reason`: a line above the form (why the user sees it again).
export function showLogin(root, { reason = '', onLoggedIn }) {
  document.title = 'Log in — Jointly';
  const email = h('input', { id: 'login-email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', { class: 'card login', 'aria-labelledby': 'login-h', 'aria-describedby': 'login-error' },
    h('h1', { id: 'login-h' }, 'Log in to Jointly'),
    reason ? h('p', { class: 'notice', role: 'status' }, reason) : null,
    h('label', { for: 'login-email' }, 'Email'), email,
    h('label', { for: 'login-password' }, 'Password'), password,
    error,
    submit,
    h('p', { class: 'muted' }, 'No account yet? Your institution’s Jointly administrator creates accounts; a course leader can then invite you to a document.'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!email.value.trim() || !password.value) {
      error.textContent = 'Please enter your email and your password.';
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    try {
      const user = await login(email.value.trim(), password.value);
      onLoggedIn(user);
    } catch (err) {
      error.textContent = loginProblem(err);
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  replaceChildren(root, form);
  email.focus();
}
