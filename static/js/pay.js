// The payment page's card form: Stripe's Payment Element on the vendor's
// connected account. The order and its amount are on the server; this
// only collects the card and confirms the PaymentIntent, then Stripe
// sends the shopper back to the order's page, which reads the result
// from Stripe.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(form.dataset.key, { stripeAccount: form.dataset.account });
  var elements = stripe.elements({ clientSecret: form.dataset.secret });
  var target = document.getElementById("payment-element");
  target.textContent = "";
  elements.create("payment").mount(target);
  var message = document.getElementById("payment-message");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    stripe.confirmPayment({ elements: elements, confirmParams: { return_url: form.dataset.return } }).then(function (result) {
      if (result.error) {
        message.textContent = result.error.message;
        message.hidden = false;
        button.disabled = false;
      }
    });
  });
})();
