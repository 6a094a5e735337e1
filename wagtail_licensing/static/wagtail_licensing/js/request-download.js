/* The Request license page: the form's answer is the .tlr file itself, so after a plain submit
 * the browser downloads it and stays on the page as it was (with the errors of an earlier
 * submit, and no word of the download). Here the form is sent with fetch: a file is saved and
 * the page is loaded again, where Wagtail's messages confirm what was downloaded; a page (the
 * form with its errors) replaces the current one. Without JavaScript the plain submit works.
 */
(function () {
    "use strict";

    function filenameOf(response) {
        var header = response.headers.get("Content-Disposition") || "";
        var encoded = /filename\*=utf-8''([^;]+)/i.exec(header);
        if (encoded) {
            return decodeURIComponent(encoded[1]);
        }
        var plain = /filename="?([^";]+)"?/i.exec(header);
        return plain ? plain[1] : "license-request.tlr";
    }

    function save(blob, filename) {
        var url = URL.createObjectURL(blob);
        var link = document.createElement("a");
        link.href = url;
        link.download = filename;
        link.hidden = true;
        document.body.appendChild(link);
        link.click();
        link.remove();
    }

    function showPage(html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector("main");
        var current = document.querySelector("main");
        if (fresh && current) {
            current.replaceWith(fresh);
            var focus = fresh.querySelector(".error-message, .help-critical, [aria-invalid=true]");
            if (focus && focus.scrollIntoView) {
                focus.scrollIntoView({block: "center"});
            }
        } else {
            document.documentElement.innerHTML = html;
        }
    }

    document.addEventListener("submit", function (event) {
        var form = event.target;
        if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-request-form")) {
            return;
        }
        if (!window.fetch || !window.URL || !URL.createObjectURL) {
            return; // the plain submit
        }
        event.preventDefault();
        var button = form.querySelector("[type=submit]");
        if (button) {
            button.disabled = true;
        }
        fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"})
            .then(function (response) {
                var disposition = response.headers.get("Content-Disposition") || "";
                if (response.ok && /attachment/i.test(disposition)) {
                    return response.blob().then(function (blob) {
                        save(blob, filenameOf(response));
                        // The download has started: the page again, with its messages.
                        window.setTimeout(function () {
                            window.location.assign(form.action);
                        }, 300);
                    });
                }
                return response.text().then(showPage);
            })
            .catch(function () {
                if (button) {
                    button.disabled = false;
                }
                form.removeAttribute("data-request-form");
                form.submit(); // the plain submit, as without JavaScript
            });
    });
})();
