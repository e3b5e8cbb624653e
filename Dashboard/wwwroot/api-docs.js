// The web API's OpenAPI document (/openapi/v1.json), rendered by swagger-ui (copied into lib/ by the build).
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi/v1.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
