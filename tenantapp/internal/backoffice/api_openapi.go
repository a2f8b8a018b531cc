package backoffice

import (
	"encoding/json"
	"net/http"

	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// GET /api/v1/vendor/openapi.json: the vendor API's OpenAPI document, with
// this shop's address as the server.
func (h *Handler) apiOpenAPI(w http.ResponseWriter, r *http.Request) error {
	var doc map[string]any
	if err := json.Unmarshal([]byte(openAPIDocument), &doc); err != nil {
		return err
	}
	doc["servers"] = []map[string]string{{"url": tenant.FromContext(r.Context()).Base + "/api/v1/vendor"}}
	// The settings' choices come from the lists the settings page uses.
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	keys := func(cs []storefront.Choice) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.Key
		}
		return out
	}
	schemas["Font"].(map[string]any)["enum"] = keys(storefront.Fonts)
	schemas["Language"].(map[string]any)["enum"] = keys(storefront.Languages)
	schemas["ShopCurrency"].(map[string]any)["enum"] = storefront.Currencies
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err = w.Write(b)
	return err
}

// openAPIDocument describes APIRoutes; a test checks that both agree.
const openAPIDocument = `{
  "openapi": "3.1.0",
  "info": {
    "title": "Storefleet vendor API",
    "version": "1.0.0",
    "description": "A shop's products and their images, stock, media library and settings, marketplace imports, staging and publishes, and its orders (status, shipments, refunds, notes) and customers, for programs acting for a member of the shop's staff. Authenticate with a staff API token made in the back office under API tokens: Authorization: Bearer sfstaff_.... A token acts with its member's permissions at the time of each request and works on its own shop only. Prices are integers in the currency's minor unit (cents for EUR); there are no floating-point amounts. Errors are {\"error\": {\"status\", \"message\", \"field\", \"request_id\"}}, with \"fields\" for every invalid property on 422."
  },
  "servers": [{"url": "/api/v1/vendor"}],
  "security": [{"staffToken": []}],
  "paths": {
    "/products": {
      "get": {
        "operationId": "listProducts",
        "summary": "List products, filtered, sorted and paged",
        "x-permission": "catalog.read",
        "parameters": [
          {"name": "q", "in": "query", "description": "Text in the title or SKU, or a GTIN.", "schema": {"type": "string", "maxLength": 200}},
          {"name": "state", "in": "query", "schema": {"$ref": "#/components/schemas/State"}},
          {"name": "category_id", "in": "query", "schema": {"type": "integer", "minimum": 1}},
          {"name": "min_price_minor", "in": "query", "schema": {"type": "integer", "minimum": 0}},
          {"name": "max_price_minor", "in": "query", "schema": {"type": "integer", "minimum": 0}},
          {"name": "currency", "in": "query", "schema": {"$ref": "#/components/schemas/Currency"}},
          {"name": "low_stock", "in": "query", "description": "Only products at or below their low-stock threshold.", "schema": {"type": "boolean"}},
          {"name": "sort", "in": "query", "schema": {"type": "string", "default": "updated",
            "enum": ["updated", "-updated", "title", "-title", "sku", "-sku", "price", "-price", "stock", "-stock"]}},
          {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}},
          {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
        ],
        "responses": {
          "200": {"description": "A page of products", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProductPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      },
      "post": {
        "operationId": "createProduct",
        "summary": "Create a product",
        "x-permission": "catalog.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProductCreate"}}}},
        "responses": {
          "201": {"description": "Created", "headers": {"Location": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Product"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/products/{id}": {
      "parameters": [{"$ref": "#/components/parameters/ProductID"}],
      "get": {
        "operationId": "getProduct",
        "summary": "Get a product",
        "x-permission": "catalog.read",
        "responses": {
          "200": {"description": "The product", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Product"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "patch": {
        "operationId": "updateProduct",
        "summary": "Change some of a product's properties",
        "description": "Only the properties sent change; null clears gtin and sale_price_minor. If the product changes while the update is made, nothing is saved (409).",
        "x-permission": "catalog.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProductUpdate"}}}},
        "responses": {
          "200": {"description": "The saved product", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Product"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      },
      "delete": {
        "operationId": "deleteProduct",
        "summary": "Delete a product without stock history",
        "description": "A product with stock movements is kept (409): archive it instead by setting its state to archived.",
        "x-permission": "catalog.write",
        "responses": {
          "204": {"description": "Deleted"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"}
        }
      }
    },
    "/products/{id}/movements": {
      "parameters": [{"$ref": "#/components/parameters/ProductID"}],
      "get": {
        "operationId": "listMovements",
        "summary": "A product's stock ledger, newest first",
        "x-permission": "inventory.read",
        "parameters": [
          {"name": "before", "in": "query", "description": "Movements older than this movement id (next_before of the previous page).", "schema": {"type": "integer", "minimum": 1}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}}
        ],
        "responses": {
          "200": {"description": "Movements", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MovementPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      },
      "post": {
        "operationId": "createMovement",
        "summary": "Record a stock movement",
        "description": "Stock never goes below zero: a sale, reservation or downward adjustment larger than the available stock, or a release larger than the reserved stock, is refused with 409 and changes nothing, also when requests race.",
        "x-permission": "inventory.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MovementCreate"}}}},
        "responses": {
          "201": {"description": "Recorded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MovementResult"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"description": "Not enough stock", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StockError"}}}},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/low-stock": {
      "get": {
        "operationId": "listLowStock",
        "summary": "Products at or below their low-stock threshold, furthest below first",
        "x-permission": "inventory.read",
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}],
        "responses": {
          "200": {"description": "Low-stock products", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LowStockList"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/products/{id}/images": {
      "parameters": [{"$ref": "#/components/parameters/ProductID"}],
      "put": {
        "operationId": "setProductImages",
        "summary": "Replace a product's images",
        "description": "The product shows the images of the media library named by media_ids, in that order (the first is the one on product cards); [] removes them all. Every id must be an image of this shop's library, none twice, at most 20; otherwise nothing changes (422 with field media_ids).",
        "x-permission": "catalog.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProductImagesUpdate"}}}},
        "responses": {
          "200": {"description": "The product with its new images", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Product"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/media": {
      "get": {
        "operationId": "listMedia",
        "summary": "List the media library, newest first",
        "x-permission": "media.read",
        "parameters": [
          {"name": "q", "in": "query", "description": "Text in the name or alternative text.", "schema": {"type": "string", "maxLength": 200}},
          {"name": "before", "in": "query", "description": "Images older than this image id (next_before of the previous page).", "schema": {"type": "integer", "minimum": 1}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
        ],
        "responses": {
          "200": {"description": "A page of images", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      },
      "post": {
        "operationId": "uploadMedia",
        "summary": "Upload an image",
        "description": "With the back office's checks: the type comes from the content (JPEG, PNG, GIF or WebP; never SVG), at most 10 MiB and 40 megapixels; the file name is kept as a display name only. Smaller sizes are made in the background (thumbnails: pending, then ready). Errors name the field file.",
        "x-permission": "media.write",
        "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/MediaUpload"}}}},
        "responses": {
          "201": {"description": "Uploaded", "headers": {"Location": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaDetail"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "415": {"$ref": "#/components/responses/UnsupportedFile"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/media/{id}": {
      "parameters": [{"$ref": "#/components/parameters/MediaID"}],
      "get": {
        "operationId": "getMedia",
        "summary": "Get an image and where it is used",
        "x-permission": "media.read",
        "responses": {
          "200": {"description": "The image", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaDetail"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      },
      "patch": {
        "operationId": "updateMedia",
        "summary": "Change an image's alternative text or name",
        "description": "Only the properties sent change; null clears alt_text.",
        "x-permission": "media.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaUpdate"}}}},
        "responses": {
          "200": {"description": "The saved image", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaDetail"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      },
      "delete": {
        "operationId": "deleteMedia",
        "summary": "Delete an image that nothing uses",
        "description": "An image shown by a product or used as the shop's logo is kept (409, with used_by listing what uses it): take it off those first. The stored files are removed in the background.",
        "x-permission": "media.write",
        "responses": {
          "204": {"description": "Deleted"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"description": "The image is in use", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MediaInUseError"}}}},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/settings": {
      "get": {
        "operationId": "getSettings",
        "summary": "The shop's settings and theme",
        "x-permission": "settings.write",
        "responses": {
          "200": {"description": "The settings", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Settings"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      },
      "patch": {
        "operationId": "updateSettings",
        "summary": "Change some of the shop's settings",
        "description": "Only the properties sent change, checked as on the back office's settings page; null clears logo_media_id and the texts that may be empty. Any invalid property is a 422 naming each in fields, and nothing is saved. The storefront shows the change at once.",
        "x-permission": "settings.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SettingsUpdate"}}}},
        "responses": {
          "200": {"description": "The saved settings", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Settings"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/imports": {
      "get": {
        "operationId": "listImports",
        "summary": "List marketplace imports, newest first",
        "x-permission": "catalog.read",
        "parameters": [
          {"name": "before", "in": "query", "description": "Imports older than this import id (next_before of the previous page).", "schema": {"type": "integer", "minimum": 1}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}}
        ],
        "responses": {
          "200": {"description": "A page of imports", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ImportPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      },
      "post": {
        "operationId": "createImport",
        "summary": "Import a product feed into staging",
        "description": "Upload a feed file (multipart/form-data, field file, at most 512 MiB) or give a link to one (JSON {url}); language is the feed's language, empty for the shop's own (a feed in another language adds translations of the same items). The import is queued and runs in the background (202): follow it at the Location. A file that is not a feed fails the import with one error; bad rows are rejected one by one (GET /imports/{id}/rejections). Errors name the field file, url or language.",
        "x-permission": "catalog.write",
        "requestBody": {"required": true, "content": {
          "multipart/form-data": {"schema": {"$ref": "#/components/schemas/ImportUpload"}},
          "application/json": {"schema": {"$ref": "#/components/schemas/ImportFromURL"}}
        }},
        "responses": {
          "202": {"description": "Queued", "headers": {"Location": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Import"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "413": {"description": "The feed is larger than 512 MiB: give a link to it instead", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "415": {"description": "The body is neither multipart/form-data nor JSON", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/imports/{id}": {
      "parameters": [{"$ref": "#/components/parameters/ImportID"}],
      "get": {
        "operationId": "getImport",
        "summary": "An import's state and counters",
        "x-permission": "catalog.read",
        "responses": {
          "200": {"description": "The import", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Import"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/imports/{id}/rejections": {
      "parameters": [{"$ref": "#/components/parameters/ImportID"}],
      "get": {
        "operationId": "listImportRejections",
        "summary": "The rows of an import that were not imported, with why, in line order",
        "x-permission": "catalog.read",
        "parameters": [
          {"name": "after", "in": "query", "description": "Rows after this line of the file (next_after of the previous page).", "schema": {"type": "integer", "minimum": 0}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
        ],
        "responses": {
          "200": {"description": "A page of rejected rows", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RejectionPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/imports/{id}/cancel": {
      "parameters": [{"$ref": "#/components/parameters/ImportID"}],
      "post": {
        "operationId": "cancelImport",
        "summary": "Stop an import",
        "description": "A queued import is cancelled at once; a running one stops after the batch it is loading (rows loaded before stay in staging). An import that has ended is a 409.",
        "x-permission": "catalog.write",
        "responses": {
          "200": {"description": "The import", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Import"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"}
        }
      }
    },
    "/staging": {
      "get": {
        "operationId": "listStaged",
        "summary": "Staged items, filtered, sorted and paged",
        "description": "The items of the shop's feeds, waiting to be published. total counts every match, up to 100,000 (total_capped says there are more).",
        "x-permission": "catalog.read",
        "parameters": [
          {"name": "q", "in": "query", "description": "Text in the title, id or brand, or a GTIN.", "schema": {"type": "string", "maxLength": 200}},
          {"name": "brand", "in": "query", "description": "The brand, in any case.", "schema": {"type": "string", "maxLength": 150}},
          {"name": "gtin", "in": "query", "schema": {"type": "string", "pattern": "^([0-9]{8}|[0-9]{12,14})$"}},
          {"name": "availability", "in": "query", "schema": {"$ref": "#/components/schemas/Availability"}},
          {"name": "min_price_minor", "in": "query", "schema": {"type": "integer", "minimum": 0}},
          {"name": "max_price_minor", "in": "query", "schema": {"type": "integer", "minimum": 0}},
          {"name": "changed", "in": "query", "description": "Only published items that a later import changed (publishing them again brings the change to the catalog).", "schema": {"type": "boolean"}},
          {"name": "unpublished", "in": "query", "description": "Only items in no catalog product.", "schema": {"type": "boolean"}},
          {"name": "sort", "in": "query", "schema": {"type": "string", "default": "changed",
            "enum": ["changed", "-changed", "title", "-title", "id", "-id", "brand", "-brand", "price", "-price"]}},
          {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}},
          {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
        ],
        "responses": {
          "200": {"description": "A page of staged items", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StagedPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/staging/{id}": {
      "parameters": [{"$ref": "#/components/parameters/StagedID"}],
      "get": {
        "operationId": "getStaged",
        "summary": "A staged item in full",
        "x-permission": "catalog.read",
        "responses": {
          "200": {"description": "The item", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StagedItem"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/publishes/preview": {
      "post": {
        "operationId": "previewPublish",
        "summary": "What publishing staged items would do, without writing anything",
        "description": "The same plan a publish makes: how many products would be created, updated, left as they are and skipped (with the reasons), and for the first 100 products that would be updated every changed field before and after. Field errors name ids (or filter) for the selection, filter.<name> and options.<name>.",
        "x-permission": "catalog.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublishRequest"}}}},
        "responses": {
          "200": {"description": "The preview", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublishPreview"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/publishes": {
      "get": {
        "operationId": "listPublishes",
        "summary": "List publishes, newest first",
        "x-permission": "catalog.read",
        "parameters": [
          {"name": "before", "in": "query", "description": "Publishes older than this publish id (next_before of the previous page).", "schema": {"type": "integer", "minimum": 1}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}}
        ],
        "responses": {
          "200": {"description": "A page of publishes", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublishPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      },
      "post": {
        "operationId": "createPublish",
        "summary": "Publish staged items into the catalog",
        "description": "The items chosen (by id, or all that the filter matches now) are frozen into a queued publish that runs in the background (202): follow it at the Location. Each item goes to the product it was published as before, else the product whose SKU is its id, else the only product with its GTIN, else a new product (in options.new_state). Items that cannot be published (no title or price, an id that cannot be a SKU, a SKU or GTIN taken by another item's product) are skipped with a note. Errors as for the preview.",
        "x-permission": "catalog.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublishRequest"}}}},
        "responses": {
          "202": {"description": "Queued", "headers": {"Location": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Publish"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/publishes/{id}": {
      "parameters": [{"$ref": "#/components/parameters/PublishID"}],
      "get": {
        "operationId": "getPublish",
        "summary": "A publish's state and counts",
        "x-permission": "catalog.read",
        "responses": {
          "200": {"description": "The publish", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Publish"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/publishes/{id}/items": {
      "parameters": [{"$ref": "#/components/parameters/PublishID"}],
      "get": {
        "operationId": "listPublishItems",
        "summary": "A publish's items and what became of each, in staged id order",
        "x-permission": "catalog.read",
        "parameters": [
          {"name": "outcome", "in": "query", "schema": {"type": "string", "enum": ["created", "updated", "unchanged", "skipped"]}},
          {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}}
        ],
        "responses": {
          "200": {"description": "A page of items (100 each)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PublishItemPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/publishes/{id}/undo": {
      "parameters": [{"$ref": "#/components/parameters/PublishID"}],
      "post": {
        "operationId": "undoPublish",
        "summary": "Undo a finished publish",
        "description": "In one transaction: products the publish created are deleted (archived instead if they have a history of their own since), products it updated get their values from before (unless changed after the publish: those are left as they are and listed), its stock adjustments are reversed (unless stock reserved since forbids it), and the staged items get their earlier link back. A later publish, not undone, that changed some of the same products is a 409 with later_publishes: undo those first, newest first. A publish still running or undone already is a 409 too.",
        "x-permission": "catalog.write",
        "responses": {
          "200": {"description": "What the undo did", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UndoResponse"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"description": "Later publishes changed the same products, or the publish cannot be undone now", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UndoConflictError"}}}}
        }
      }
    },
    "/orders": {
      "get": {
        "operationId": "listOrders",
        "summary": "List orders, newest first, filtered and paged",
        "description": "Pages are keyset pages: pass next_before as before for the next (older) page. counts has the number of orders of each status that match the other filters.",
        "x-permission": "orders.read",
        "parameters": [
          {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/OrderStatus"}},
          {"name": "payment_status", "in": "query", "schema": {"$ref": "#/components/schemas/PaymentStatus"}},
          {"name": "from", "in": "query", "description": "Orders placed on or after this day (UTC).", "schema": {"type": "string", "format": "date"}},
          {"name": "to", "in": "query", "description": "Orders placed on or before this day (UTC).", "schema": {"type": "string", "format": "date"}},
          {"name": "q", "in": "query", "description": "An order number (1001 or #1001), or text in the e-mail address or the customer's name.", "schema": {"type": "string", "maxLength": 200}},
          {"name": "before", "in": "query", "description": "Orders older than this order (next_before of the previous page).", "schema": {"type": "integer", "minimum": 1}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
        ],
        "responses": {
          "200": {"description": "A page of orders", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/orders/{id}": {
      "parameters": [{"$ref": "#/components/parameters/OrderID"}],
      "get": {
        "operationId": "getOrder",
        "summary": "An order with its lines, timeline and refunds",
        "x-permission": "orders.read",
        "responses": {
          "200": {"description": "The order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/orders/{id}/status": {
      "parameters": [{"$ref": "#/components/parameters/OrderID"}],
      "post": {
        "operationId": "changeOrderStatus",
        "summary": "Change an order's status",
        "description": "Allowed changes: pending to cancelled (its reserved stock goes back on sale); paid to fulfilled; paid or fulfilled to shipped (POST /orders/{id}/shipments); shipped to delivered; paid or fulfilled to cancelled, which refunds what is left of the payment in full at Stripe (and puts the items back in stock unless restock is false). Any other change is a 409 whose allowed lists what the order may become; two changes racing on one order are applied one after the other, so the second may get that 409. If Stripe does not take the refund of a cancellation, the order is cancelled, the refund stays requested and the answer is a 502 naming refund_id: retry it with POST /orders/{id}/refunds/{refund_id}/retry.",
        "x-permission": "orders.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderStatusChange"}}}},
        "responses": {
          "200": {"description": "The order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"description": "The order's status does not allow this change", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TransitionError"}}}},
          "422": {"$ref": "#/components/responses/Invalid"},
          "502": {"$ref": "#/components/responses/RefundNotTaken"}
        }
      }
    },
    "/orders/{id}/shipments": {
      "parameters": [{"$ref": "#/components/parameters/OrderID"}],
      "post": {
        "operationId": "shipOrder",
        "summary": "Mark a fulfilled order shipped",
        "description": "Records the carrier and tracking number, sets the status to shipped and queues the shipping notice to the order's e-mail address (with a link to the order on the shop's own domain) in the same transaction. An order that is not fulfilled is a 409.",
        "x-permission": "orders.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Shipment"}}}},
        "responses": {
          "200": {"description": "The order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"description": "The order's status does not allow shipping", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TransitionError"}}}},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/orders/{id}/refunds": {
      "parameters": [{"$ref": "#/components/parameters/OrderID"}],
      "post": {
        "operationId": "refundOrder",
        "summary": "Refund part or all of an order's payment",
        "description": "At most the total less what is refunded or being refunded (422 on amount_minor otherwise); refused too (422) when payments are off, the order is not paid, refunded in full or disputed. The refund is recorded with a fresh idempotency key before Stripe is called, so Stripe makes it once: with the same request_key (or Idempotency-Key header) a request sent again gives back the refund it made (200). If Stripe does not take it, it stays requested and the answer is a 502 naming refund_id: retry it with POST /orders/{id}/refunds/{refund_id}/retry. restock puts units of the order's lines back in stock on hand (a 'return' stock movement each).",
        "x-permission": "orders.write",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "description": "Same as request_key.", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefundCreate"}}}},
        "responses": {
          "200": {"description": "The refund this key made before, and its order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefundResult"}}}},
          "201": {"description": "The refund and its order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefundResult"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "502": {"$ref": "#/components/responses/RefundNotTaken"}
        }
      }
    },
    "/orders/{id}/refunds/{refund_id}/retry": {
      "parameters": [{"$ref": "#/components/parameters/OrderID"}, {"name": "refund_id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
      "post": {
        "operationId": "retryRefund",
        "summary": "Ask Stripe again for a refund it did not take",
        "description": "Calls Stripe again with the refund's idempotency key, so the refund is made once however often it is retried. A refund that is no longer requested is a 409.",
        "x-permission": "orders.write",
        "responses": {
          "200": {"description": "The refund and its order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RefundResult"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "502": {"$ref": "#/components/responses/RefundNotTaken"}
        }
      }
    },
    "/orders/{id}/notes": {
      "parameters": [{"$ref": "#/components/parameters/OrderID"}],
      "post": {
        "operationId": "addOrderNote",
        "summary": "Add an internal note to an order's timeline",
        "description": "Notes are for staff: shoppers never see them.",
        "x-permission": "orders.write",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NoteCreate"}}}},
        "responses": {
          "201": {"description": "The note", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OrderEvent"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/customers": {
      "get": {
        "operationId": "listCustomers",
        "summary": "List customer accounts, newest first",
        "x-permission": "customers.read",
        "parameters": [
          {"name": "q", "in": "query", "description": "Text in the e-mail address or name.", "schema": {"type": "string", "maxLength": 200}},
          {"name": "before", "in": "query", "description": "Customers who signed up before this customer (next_before of the previous page).", "schema": {"type": "integer", "minimum": 1}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}
        ],
        "responses": {
          "200": {"description": "A page of customers", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CustomerPage"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/customers/{id}": {
      "parameters": [{"name": "id", "in": "path", "required": true, "description": "The id of a customer account.", "schema": {"type": "integer", "minimum": 1}}],
      "get": {
        "operationId": "getCustomer",
        "summary": "A customer with their addresses and latest 50 orders",
        "x-permission": "customers.read",
        "responses": {
          "200": {"description": "The customer", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Customer"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"}
        }
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "getOpenAPI",
        "summary": "This document",
        "security": [],
        "responses": {"200": {"description": "The OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    }
  },
  "components": {
    "securitySchemes": {
      "staffToken": {"type": "http", "scheme": "bearer", "bearerFormat": "sfstaff_<43 characters>",
        "description": "A staff API token of this shop, made in the back office under API tokens."}
    },
    "parameters": {
      "ProductID": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}},
      "MediaID": {"name": "id", "in": "path", "required": true, "description": "The id of an image of the media library.", "schema": {"type": "integer", "minimum": 1}},
      "ImportID": {"name": "id", "in": "path", "required": true, "description": "The id of a marketplace import.", "schema": {"type": "integer", "minimum": 1}},
      "StagedID": {"name": "id", "in": "path", "required": true, "description": "The id of a staged item (not its feed id).", "schema": {"type": "integer", "minimum": 1}},
      "PublishID": {"name": "id", "in": "path", "required": true, "description": "The id of a publish.", "schema": {"type": "integer", "minimum": 1}},
      "OrderID": {"name": "id", "in": "path", "required": true, "description": "The order number.", "schema": {"type": "integer", "minimum": 1}}
    },
    "responses": {
      "BadRequest": {"description": "The body is not JSON for this endpoint", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "No valid API token of this shop", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Forbidden": {"description": "The token's member lacks the permission", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "No such product, image, import, staged item, publish, order, refund or customer in this shop", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "The change conflicts with the current state (of the product, the import)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Invalid": {"description": "Invalid properties or parameters", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "The file is larger than 10 MiB", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "UnsupportedFile": {"description": "The file is not a JPEG, PNG, GIF or WebP image (or is SVG, or damaged)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unavailable": {"description": "The shop's file storage cannot be reached; nothing was changed. Retry after Retry-After seconds.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "RefundNotTaken": {"description": "Stripe did not take the refund; it is kept as requested (refund_id) and can be retried", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "State": {"type": "string", "enum": ["draft", "active", "archived"]},
      "Currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "An active ISO 4217 code."},
      "GTIN": {"type": ["string", "null"], "pattern": "^([0-9]{8}|[0-9]{12,14})$", "description": "GTIN-8, -12, -13 or -14 with a valid GS1 check digit; spaces and hyphens are dropped on input."},
      "Stock": {
        "type": "object",
        "required": ["on_hand", "reserved", "available", "low_stock_threshold", "low"],
        "properties": {
          "on_hand": {"type": "integer", "minimum": 0},
          "reserved": {"type": "integer", "minimum": 0},
          "available": {"type": "integer", "minimum": 0, "description": "on_hand - reserved"},
          "low_stock_threshold": {"type": ["integer", "null"], "minimum": 0},
          "low": {"type": "boolean"}
        }
      },
      "ProductSummary": {
        "type": "object",
        "required": ["id", "sku", "title", "gtin", "price_minor", "sale_price_minor", "currency", "state", "stock", "updated_at"],
        "properties": {
          "id": {"type": "integer"},
          "sku": {"type": "string"},
          "title": {"type": "string"},
          "gtin": {"$ref": "#/components/schemas/GTIN"},
          "price_minor": {"type": "integer", "minimum": 0},
          "sale_price_minor": {"type": ["integer", "null"], "minimum": 0},
          "currency": {"$ref": "#/components/schemas/Currency"},
          "state": {"$ref": "#/components/schemas/State"},
          "stock": {"$ref": "#/components/schemas/Stock"},
          "updated_at": {"type": "string", "format": "date-time"}
        }
      },
      "Product": {
        "type": "object",
        "required": ["id", "sku", "title", "description", "handle", "gtin", "price_minor", "sale_price_minor", "currency", "state",
          "category_ids", "images", "stock", "created_at", "updated_at"],
        "properties": {
          "id": {"type": "integer"},
          "sku": {"type": "string"},
          "title": {"type": "string"},
          "description": {"type": "string"},
          "handle": {"type": "string", "description": "The product's URL handle in the shop."},
          "gtin": {"$ref": "#/components/schemas/GTIN"},
          "price_minor": {"type": "integer", "minimum": 0},
          "sale_price_minor": {"type": ["integer", "null"], "minimum": 0},
          "currency": {"$ref": "#/components/schemas/Currency"},
          "state": {"$ref": "#/components/schemas/State"},
          "category_ids": {"type": "array", "items": {"type": "integer"}},
          "images": {"type": "array", "items": {"$ref": "#/components/schemas/ProductImage"}, "maxItems": 20, "description": "In the order the shop shows them; change them with PUT /products/{id}/images."},
          "stock": {"$ref": "#/components/schemas/Stock"},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"}
        }
      },
      "ProductUpdate": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "sku": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9][A-Za-z0-9._/-]*$"},
          "title": {"type": "string", "minLength": 1, "maxLength": 300},
          "description": {"type": ["string", "null"], "maxLength": 20000},
          "gtin": {"$ref": "#/components/schemas/GTIN"},
          "price_minor": {"type": "integer", "minimum": 0, "maximum": 999999999999},
          "sale_price_minor": {"type": ["integer", "null"], "minimum": 0, "description": "Below price_minor."},
          "currency": {"$ref": "#/components/schemas/Currency"},
          "state": {"$ref": "#/components/schemas/State"},
          "category_ids": {"type": ["array", "null"], "items": {"type": "integer"}, "maxItems": 50}
        }
      },
      "ProductCreate": {
        "allOf": [{"$ref": "#/components/schemas/ProductUpdate"}],
        "required": ["sku", "title", "price_minor", "currency"],
        "description": "state defaults to draft."
      },
      "ProductPage": {
        "type": "object",
        "required": ["products", "page", "page_size", "next_page"],
        "properties": {
          "products": {"type": "array", "items": {"$ref": "#/components/schemas/ProductSummary"}},
          "page": {"type": "integer"},
          "page_size": {"type": "integer"},
          "next_page": {"type": ["integer", "null"]}
        }
      },
      "MovementKind": {"type": "string", "enum": ["receipt", "adjustment", "sale", "return", "reservation", "release"],
        "description": "receipt, return and adjustment change stock on hand; sale takes from it; reservation holds stock for a checkout and release gives it back."},
      "MovementCreate": {
        "type": "object",
        "additionalProperties": false,
        "required": ["kind", "quantity"],
        "properties": {
          "kind": {"$ref": "#/components/schemas/MovementKind"},
          "quantity": {"type": "integer", "minimum": -1000000, "maximum": 1000000, "description": "Positive; for an adjustment the signed change of stock on hand, not 0."},
          "reason": {"type": "string", "maxLength": 500, "description": "Required for an adjustment."},
          "reference": {"type": "string", "maxLength": 100}
        }
      },
      "Movement": {
        "type": "object",
        "required": ["id", "product_id", "kind", "quantity", "on_hand_after", "reserved_after", "reason", "reference", "staff_id", "created_at"],
        "properties": {
          "id": {"type": "integer"},
          "product_id": {"type": "integer"},
          "kind": {"$ref": "#/components/schemas/MovementKind"},
          "quantity": {"type": "integer"},
          "on_hand_after": {"type": "integer"},
          "reserved_after": {"type": "integer"},
          "reason": {"type": "string"},
          "reference": {"type": "string"},
          "staff_id": {"type": ["integer", "null"]},
          "created_at": {"type": "string", "format": "date-time"}
        }
      },
      "MovementResult": {
        "type": "object",
        "required": ["movement", "stock"],
        "properties": {"movement": {"$ref": "#/components/schemas/Movement"}, "stock": {"$ref": "#/components/schemas/Stock"}}
      },
      "MovementPage": {
        "type": "object",
        "required": ["movements", "stock", "next_before"],
        "properties": {
          "movements": {"type": "array", "items": {"$ref": "#/components/schemas/Movement"}},
          "stock": {"$ref": "#/components/schemas/Stock"},
          "next_before": {"type": ["integer", "null"]}
        }
      },
      "LowStockList": {
        "type": "object",
        "required": ["products"],
        "properties": {
          "products": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "sku", "title", "available", "low_stock_threshold"],
            "properties": {
              "id": {"type": "integer"}, "sku": {"type": "string"}, "title": {"type": "string"},
              "available": {"type": "integer"}, "low_stock_threshold": {"type": "integer"}
            }
          }}
        }
      },
      "ProductImage": {
        "type": "object",
        "required": ["media_id", "position", "url", "alt_text", "width", "height"],
        "properties": {
          "media_id": {"type": "integer"},
          "position": {"type": "integer", "minimum": 0, "description": "0 for the first image, the one on product cards."},
          "url": {"type": "string", "description": "The original image, served by the shop with nosniff; relative to the shop's address, like the servers entry. /media/{media_id}/200 and /800 are smaller sizes."},
          "alt_text": {"type": "string"},
          "width": {"type": "integer"},
          "height": {"type": "integer"}
        }
      },
      "ProductImagesUpdate": {
        "type": "object",
        "additionalProperties": false,
        "required": ["media_ids"],
        "properties": {
          "media_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 20, "uniqueItems": true}
        }
      },
      "Media": {
        "type": "object",
        "required": ["id", "name", "alt_text", "content_type", "size_bytes", "width", "height", "sha256", "thumbnails", "url", "sizes", "created_at"],
        "properties": {
          "id": {"type": "integer"},
          "name": {"type": "string", "description": "A display name, from the uploaded file's name."},
          "alt_text": {"type": "string"},
          "content_type": {"type": "string", "enum": ["image/jpeg", "image/png", "image/gif", "image/webp"]},
          "size_bytes": {"type": "integer"},
          "width": {"type": "integer"},
          "height": {"type": "integer"},
          "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
          "thumbnails": {"type": "string", "enum": ["pending", "ready", "failed"], "description": "Whether the smaller sizes are made; until then (or if they cannot be) their URLs serve the original."},
          "url": {"type": "string", "description": "The original, relative to the shop's address."},
          "sizes": {"type": "object", "additionalProperties": {"type": "string"}, "description": "URLs of the smaller sizes, by their longest side in pixels (\"200\", \"800\")."},
          "created_at": {"type": "string", "format": "date-time"}
        }
      },
      "MediaUse": {
        "type": "object",
        "required": ["kind", "product_id", "label"],
        "properties": {
          "kind": {"type": "string", "enum": ["product", "logo"]},
          "product_id": {"type": ["integer", "null"]},
          "label": {"type": "string"}
        }
      },
      "MediaDetail": {
        "allOf": [{"$ref": "#/components/schemas/Media"}],
        "type": "object",
        "required": ["used_by"],
        "properties": {"used_by": {"type": "array", "items": {"$ref": "#/components/schemas/MediaUse"}}}
      },
      "MediaPage": {
        "type": "object",
        "required": ["media", "next_before"],
        "properties": {
          "media": {"type": "array", "items": {"$ref": "#/components/schemas/Media"}},
          "next_before": {"type": ["integer", "null"]}
        }
      },
      "MediaUpload": {
        "type": "object",
        "required": ["file"],
        "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream", "description": "The image file; its name is kept as the display name."}}
      },
      "MediaUpdate": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "name": {"type": "string", "minLength": 1, "maxLength": 200, "description": "A plain name: no slashes or control characters."},
          "alt_text": {"type": ["string", "null"], "maxLength": 500}
        }
      },
      "MediaInUseError": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["status", "message", "used_by", "request_id"],
            "properties": {
              "status": {"type": "integer", "const": 409},
              "message": {"type": "string"},
              "used_by": {"type": "array", "items": {"$ref": "#/components/schemas/MediaUse"}},
              "request_id": {"type": "string"}
            }
          }
        }
      },
      "Color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "description": "#rrggbb; stored in lower case."},
      "Font": {"type": "string", "description": "A font of the list on the settings page."},
      "Language": {"type": "string", "description": "The storefront's language, also used for search."},
      "ShopCurrency": {"type": "string"},
      "Settings": {
        "type": "object",
        "required": ["display_name", "logo_media_id", "accent_color", "accent_ink_color", "background_color", "text_color", "font",
          "currency", "language", "contact_email", "contact_phone", "contact_address", "imprint", "terms", "privacy", "updated_at"],
        "properties": {
          "display_name": {"type": "string", "description": "Shown instead of the name the platform knows for the shop, if not empty."},
          "logo_media_id": {"type": ["integer", "null"], "description": "An image of the media library."},
          "accent_color": {"$ref": "#/components/schemas/Color"},
          "accent_ink_color": {"$ref": "#/components/schemas/Color"},
          "background_color": {"$ref": "#/components/schemas/Color"},
          "text_color": {"$ref": "#/components/schemas/Color"},
          "font": {"$ref": "#/components/schemas/Font"},
          "currency": {"$ref": "#/components/schemas/ShopCurrency"},
          "language": {"$ref": "#/components/schemas/Language"},
          "contact_email": {"type": "string"},
          "contact_phone": {"type": "string"},
          "contact_address": {"type": "string"},
          "imprint": {"type": "string", "description": "Plain text, shown escaped."},
          "terms": {"type": "string"},
          "privacy": {"type": "string"},
          "updated_at": {"type": "string", "format": "date-time"}
        }
      },
      "SettingsUpdate": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "display_name": {"type": ["string", "null"], "maxLength": 100},
          "logo_media_id": {"type": ["integer", "null"], "minimum": 1},
          "accent_color": {"$ref": "#/components/schemas/Color"},
          "accent_ink_color": {"$ref": "#/components/schemas/Color"},
          "background_color": {"$ref": "#/components/schemas/Color"},
          "text_color": {"$ref": "#/components/schemas/Color"},
          "font": {"$ref": "#/components/schemas/Font"},
          "currency": {"$ref": "#/components/schemas/ShopCurrency"},
          "language": {"$ref": "#/components/schemas/Language"},
          "contact_email": {"type": ["string", "null"], "format": "email", "maxLength": 254},
          "contact_phone": {"type": ["string", "null"], "pattern": "^[0-9+()./ -]{3,40}$"},
          "contact_address": {"type": ["string", "null"], "maxLength": 500},
          "imprint": {"type": ["string", "null"], "maxLength": 20000},
          "terms": {"type": ["string", "null"], "maxLength": 50000},
          "privacy": {"type": ["string", "null"], "maxLength": 50000}
        }
      },
      "Import": {
        "type": "object",
        "required": ["id", "source", "size_bytes", "state", "cancel_requested", "rows_read", "rows_imported", "rows_rejected", "rows_new", "rows_changed", "attempts", "created_at"],
        "properties": {
          "id": {"type": "integer"},
          "source": {"type": "string", "enum": ["upload", "url"]},
          "file_name": {"type": "string", "description": "The uploaded file's name (or the link's last part), for people only."},
          "source_url": {"type": "string"},
          "size_bytes": {"type": "integer", "description": "The uploaded file's size; 0 for a link until it is fetched."},
          "language": {"type": "string", "description": "The feed's language; absent for the shop's own."},
          "state": {"type": "string", "enum": ["queued", "running", "finished", "failed", "cancelled"]},
          "cancel_requested": {"type": "boolean"},
          "rows_read": {"type": "integer"},
          "rows_imported": {"type": "integer"},
          "rows_rejected": {"type": "integer"},
          "rows_new": {"type": "integer", "description": "Of rows_imported: items new to staging."},
          "rows_changed": {"type": "integer", "description": "Of rows_imported: items whose content changed."},
          "error": {"type": "string", "description": "Why a failed import failed."},
          "attempts": {"type": "integer"},
          "created_by": {"type": "integer", "description": "The staff member who asked for it."},
          "created_by_email": {"type": "string"},
          "created_at": {"type": "string", "format": "date-time"},
          "started_at": {"type": "string", "format": "date-time"},
          "finished_at": {"type": "string", "format": "date-time"}
        }
      },
      "ImportPage": {
        "type": "object",
        "required": ["imports", "next_before"],
        "properties": {
          "imports": {"type": "array", "items": {"$ref": "#/components/schemas/Import"}},
          "next_before": {"type": ["integer", "null"]}
        }
      },
      "ImportUpload": {
        "type": "object",
        "required": ["file"],
        "properties": {
          "file": {"type": "string", "contentMediaType": "application/octet-stream", "description": "The feed: tab- or comma-separated, column names on the first line. Its name is kept for people only."},
          "language": {"$ref": "#/components/schemas/FeedLanguage"}
        }
      },
      "ImportFromURL": {
        "type": "object",
        "additionalProperties": false,
        "required": ["url"],
        "properties": {
          "url": {"type": "string", "format": "uri", "maxLength": 2000, "description": "An http or https link, fetched once into the shop's storage; never a private or loopback address."},
          "language": {"$ref": "#/components/schemas/FeedLanguage"}
        }
      },
      "FeedLanguage": {"type": "string", "enum": ["", "en", "fr", "de", "lb", "nl", "it", "es", "pt"], "description": "Empty for the shop's own language; another language adds the feed's titles and descriptions as translations."},
      "Rejection": {
        "type": "object",
        "required": ["line", "reason"],
        "properties": {
          "line": {"type": "integer", "description": "The line of the file, from 1 (the header)."},
          "item_id": {"type": "string"},
          "reason": {"type": "string"}
        }
      },
      "RejectionPage": {
        "type": "object",
        "required": ["rejections", "next_after"],
        "properties": {
          "rejections": {"type": "array", "items": {"$ref": "#/components/schemas/Rejection"}},
          "next_after": {"type": ["integer", "null"]}
        }
      },
      "Availability": {"type": "string", "enum": ["in_stock", "out_of_stock", "preorder", "backorder"]},
      "StagedItemSummary": {
        "type": "object",
        "required": ["id", "external_id", "title", "price_minor", "changed_at", "changed_since_publish"],
        "properties": {
          "id": {"type": "integer", "description": "The staged item's id in this shop."},
          "external_id": {"type": "string", "description": "The feed's id: the SKU of the product it becomes."},
          "title": {"type": "string"},
          "brand": {"type": "string"},
          "gtin": {"type": "string"},
          "availability": {"$ref": "#/components/schemas/Availability"},
          "price_minor": {"type": ["integer", "null"], "minimum": 0},
          "sale_price_minor": {"type": "integer", "minimum": 0},
          "currency": {"$ref": "#/components/schemas/Currency"},
          "image_link": {"type": "string"},
          "changed_at": {"type": "string", "format": "date-time"},
          "product_id": {"type": "integer", "description": "The catalog product it is published as."},
          "product_sku": {"type": "string"},
          "published_at": {"type": "string", "format": "date-time"},
          "changed_since_publish": {"type": "boolean", "description": "Published, and an import changed the item since."}
        }
      },
      "StagedItem": {
        "allOf": [{"$ref": "#/components/schemas/StagedItemSummary"}],
        "type": "object",
        "required": ["description", "additional_image_links", "attributes", "translations", "first_seen_at"],
        "properties": {
          "description": {"type": "string"},
          "link": {"type": "string"},
          "additional_image_links": {"type": "array", "items": {"type": "string"}},
          "mpn": {"type": "string"},
          "condition": {"type": "string"},
          "google_product_category": {"type": "string"},
          "product_type": {"type": "string"},
          "item_group_id": {"type": "string"},
          "color": {"type": "string"},
          "size": {"type": "string"},
          "attributes": {"type": "object", "additionalProperties": {"type": "string"}, "description": "The feed's other columns, by header."},
          "translations": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}}, "description": "By language: title and description."},
          "last_import_id": {"type": "integer", "description": "The import that made or last changed it."},
          "first_seen_at": {"type": "string", "format": "date-time"}
        }
      },
      "StagedPage": {
        "type": "object",
        "required": ["items", "page", "page_size", "next_page", "total", "total_capped"],
        "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/StagedItemSummary"}},
          "page": {"type": "integer"},
          "page_size": {"type": "integer"},
          "next_page": {"type": ["integer", "null"]},
          "total": {"type": "integer", "maximum": 100000},
          "total_capped": {"type": "boolean", "description": "More than 100,000 items match."}
        }
      },
      "StagedFilter": {
        "type": "object",
        "additionalProperties": false,
        "description": "As the parameters of GET /staging.",
        "properties": {
          "q": {"type": "string", "maxLength": 200},
          "brand": {"type": "string", "maxLength": 150},
          "gtin": {"type": "string"},
          "availability": {"$ref": "#/components/schemas/Availability"},
          "min_price_minor": {"type": "integer", "minimum": 0},
          "max_price_minor": {"type": "integer", "minimum": 0},
          "changed": {"type": "boolean"},
          "unpublished": {"type": "boolean"}
        }
      },
      "PublishOptions": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "stock_from_availability": {"type": "boolean", "default": false, "description": "Set stock on hand from each item's availability: in stock gets stock_quantity, out of stock what is reserved (none left to sell); preorder, backorder and none leave stock alone. Never below what is reserved."},
          "stock_quantity": {"type": "integer", "minimum": 0, "maximum": 1000000},
          "new_state": {"type": "string", "enum": ["draft", "active"], "default": "draft", "description": "The state of products the publish creates; existing products keep theirs."}
        }
      },
      "PublishRequest": {
        "type": "object",
        "additionalProperties": false,
        "description": "Either ids (at most 10,000) or filter (every item it matches).",
        "properties": {
          "ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 10000, "description": "Ids of staged items."},
          "filter": {"$ref": "#/components/schemas/StagedFilter"},
          "options": {"$ref": "#/components/schemas/PublishOptions"}
        }
      },
      "ProductValues": {
        "type": "object",
        "required": ["title", "description", "price_minor", "sale_price_minor", "currency", "gtin", "brand", "state", "stock_on_hand"],
        "properties": {
          "title": {"type": "string"},
          "description": {"type": "string"},
          "price_minor": {"type": "integer"},
          "sale_price_minor": {"type": ["integer", "null"]},
          "currency": {"$ref": "#/components/schemas/Currency"},
          "gtin": {"type": "string"},
          "brand": {"type": "string"},
          "state": {"$ref": "#/components/schemas/State"},
          "stock_on_hand": {"type": "integer"},
          "updated_at": {"type": "string", "format": "date-time"},
          "updated_by": {"type": ["integer", "null"]}
        }
      },
      "ItemChange": {
        "type": "object",
        "required": ["staged_id", "external_id", "product_id", "sku", "matched_by", "note", "fields", "before", "after"],
        "properties": {
          "staged_id": {"type": "integer"},
          "external_id": {"type": "string"},
          "product_id": {"type": "integer"},
          "sku": {"type": "string"},
          "matched_by": {"type": "string", "enum": ["published", "sku", "gtin"]},
          "note": {"type": "string"},
          "fields": {"type": "array", "items": {"type": "string", "enum": ["title", "description", "price", "sale_price", "currency", "gtin", "brand", "stock"]}},
          "before": {"$ref": "#/components/schemas/ProductValues"},
          "after": {"$ref": "#/components/schemas/ProductValues"}
        }
      },
      "PublishPreview": {
        "type": "object",
        "required": ["selected", "create", "update", "unchanged", "skip", "skip_reasons", "changes"],
        "properties": {
          "selected": {"type": "integer"},
          "create": {"type": "integer"},
          "update": {"type": "integer"},
          "unchanged": {"type": "integer"},
          "skip": {"type": "integer"},
          "skip_reasons": {"type": "array", "items": {"type": "object", "required": ["reason", "count"],
            "properties": {"reason": {"type": "string"}, "count": {"type": "integer"}}}},
          "changes": {"type": "array", "maxItems": 100, "items": {"$ref": "#/components/schemas/ItemChange"}}
        }
      },
      "Publish": {
        "type": "object",
        "required": ["id", "state", "description", "stock_from_availability", "stock_quantity", "new_state", "items_total", "items_done",
          "created", "updated", "unchanged", "skipped", "attempts", "created_at"],
        "properties": {
          "id": {"type": "integer"},
          "state": {"type": "string", "enum": ["queued", "running", "finished", "failed", "undone"]},
          "description": {"type": "string", "description": "What was chosen, for people."},
          "stock_from_availability": {"type": "boolean"},
          "stock_quantity": {"type": "integer"},
          "new_state": {"type": "string", "enum": ["draft", "active"]},
          "items_total": {"type": "integer"},
          "items_done": {"type": "integer"},
          "created": {"type": "integer"},
          "updated": {"type": "integer"},
          "unchanged": {"type": "integer"},
          "skipped": {"type": "integer"},
          "error": {"type": "string", "description": "Why a failed publish stopped; what it wrote so far stays and can be undone."},
          "attempts": {"type": "integer"},
          "created_by": {"type": "integer"},
          "created_by_email": {"type": "string"},
          "created_at": {"type": "string", "format": "date-time"},
          "finished_at": {"type": "string", "format": "date-time"},
          "undone_by": {"type": "integer"},
          "undone_by_email": {"type": "string"},
          "undone_at": {"type": "string", "format": "date-time"}
        }
      },
      "PublishPage": {
        "type": "object",
        "required": ["publishes", "next_before"],
        "properties": {
          "publishes": {"type": "array", "items": {"$ref": "#/components/schemas/Publish"}},
          "next_before": {"type": ["integer", "null"]}
        }
      },
      "PublishItem": {
        "type": "object",
        "required": ["staged_id", "external_id", "title"],
        "properties": {
          "staged_id": {"type": "integer"},
          "external_id": {"type": "string"},
          "title": {"type": "string", "description": "The staged item's title now."},
          "outcome": {"type": "string", "enum": ["created", "updated", "unchanged", "skipped"], "description": "Absent while the publish has not reached the item."},
          "note": {"type": "string", "description": "Why it was skipped, or what else happened."},
          "product_id": {"type": "integer"},
          "product_sku": {"type": "string", "description": "Absent if the product has been deleted since."},
          "before": {"$ref": "#/components/schemas/ProductValues", "description": "The product before the publish updated it."}
        }
      },
      "PublishItemPage": {
        "type": "object",
        "required": ["items", "page", "page_size", "next_page"],
        "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/PublishItem"}},
          "page": {"type": "integer"},
          "page_size": {"type": "integer"},
          "next_page": {"type": ["integer", "null"]}
        }
      },
      "UndoProduct": {
        "type": "object",
        "required": ["product_id", "sku"],
        "properties": {
          "product_id": {"type": "integer"},
          "sku": {"type": "string"},
          "title": {"type": "string"},
          "reason": {"type": "string"}
        }
      },
      "UndoResult": {
        "type": "object",
        "required": ["restored", "deleted", "archived", "skipped", "stock_reversed", "stock_skipped", "staged_restored"],
        "properties": {
          "restored": {"type": "array", "items": {"type": "integer"}, "description": "Updated products given their values from before."},
          "deleted": {"type": "array", "items": {"type": "integer"}, "description": "Products the publish created, deleted."},
          "archived": {"type": "array", "items": {"$ref": "#/components/schemas/UndoProduct"}, "description": "Created products with a history of their own since, archived instead."},
          "skipped": {"type": "array", "items": {"$ref": "#/components/schemas/UndoProduct"}, "description": "Products left as they are: changed after the publish, or deleted since."},
          "stock_reversed": {"type": "integer"},
          "stock_skipped": {"type": "array", "items": {"$ref": "#/components/schemas/UndoProduct"}, "description": "Stock changes not reversed: stock reserved since forbids it."},
          "staged_restored": {"type": "integer"}
        }
      },
      "UndoResponse": {
        "type": "object",
        "required": ["publish", "result"],
        "properties": {"publish": {"$ref": "#/components/schemas/Publish"}, "result": {"$ref": "#/components/schemas/UndoResult"}}
      },
      "UndoConflictError": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["status", "message", "request_id"],
            "properties": {
              "status": {"type": "integer", "const": 409},
              "message": {"type": "string"},
              "later_publishes": {"type": "array", "items": {"type": "integer"}, "description": "The later publishes to undo first, oldest first (undo them newest first)."},
              "state": {"type": "string", "description": "The publish's state, when it cannot be undone now."},
              "request_id": {"type": "string"}
            }
          }
        }
      },
      "OrderStatus": {"type": "string", "enum": ["pending", "paid", "fulfilled", "shipped", "delivered", "cancelled"]},
      "PaymentStatus": {"type": "string", "enum": ["unpaid", "paid", "failed", "partially_refunded", "refunded", "disputed"]},
      "OrderSummary": {
        "type": "object",
        "required": ["id", "created_at", "status", "payment_status", "email", "customer_id", "customer_name", "currency", "total_minor", "refunded_minor", "item_count"],
        "properties": {
          "id": {"type": "integer", "description": "The order number."},
          "created_at": {"type": "string", "format": "date-time"},
          "status": {"$ref": "#/components/schemas/OrderStatus"},
          "payment_status": {"$ref": "#/components/schemas/PaymentStatus"},
          "email": {"type": "string"},
          "customer_id": {"type": ["integer", "null"], "description": "The customer account, null for a guest checkout."},
          "customer_name": {"type": "string"},
          "currency": {"$ref": "#/components/schemas/Currency"},
          "total_minor": {"type": "integer", "minimum": 0},
          "refunded_minor": {"type": "integer", "minimum": 0},
          "item_count": {"type": "integer", "minimum": 0}
        }
      },
      "OrderPage": {
        "type": "object",
        "required": ["orders", "counts", "next_before"],
        "properties": {
          "orders": {"type": "array", "items": {"$ref": "#/components/schemas/OrderSummary"}},
          "counts": {"type": "object", "description": "Orders of each status matching the other filters.", "additionalProperties": {"type": "integer"}},
          "next_before": {"type": ["integer", "null"], "description": "Pass as before for the next page; null on the last page."}
        }
      },
      "OrderLine": {
        "type": "object",
        "required": ["id", "product_id", "sku", "title", "unit_price_minor", "quantity", "line_total_minor", "returned_to_stock"],
        "properties": {
          "id": {"type": "integer"},
          "product_id": {"type": ["integer", "null"], "description": "null if the product was deleted since."},
          "sku": {"type": "string"},
          "title": {"type": "string"},
          "unit_price_minor": {"type": "integer", "minimum": 0},
          "quantity": {"type": "integer", "minimum": 1},
          "line_total_minor": {"type": "integer", "minimum": 0},
          "returned_to_stock": {"type": "integer", "minimum": 0, "description": "Units put back in stock by refunds and cancellations."}
        }
      },
      "OrderEvent": {
        "type": "object",
        "required": ["id", "kind", "message", "internal", "staff_id", "staff_name", "created_at"],
        "properties": {
          "id": {"type": "integer"},
          "kind": {"type": "string", "description": "note, order.fulfilled, order.shipped, order.delivered, order.cancelled, payment.succeeded, refund.requested, refund.succeeded, …"},
          "message": {"type": "string"},
          "internal": {"type": "boolean", "description": "true: for staff only (notes, refund requests); false: the shopper may see it."},
          "staff_id": {"type": ["integer", "null"]},
          "staff_name": {"type": "string"},
          "created_at": {"type": "string", "format": "date-time"}
        }
      },
      "Refund": {
        "type": "object",
        "required": ["id", "amount_minor", "reason", "status", "stripe_refund_id", "restock", "staff_id", "staff_name", "created_at", "updated_at"],
        "properties": {
          "id": {"type": "integer"},
          "amount_minor": {"type": "integer", "minimum": 1},
          "reason": {"type": "string"},
          "status": {"type": "string", "enum": ["requested", "pending", "succeeded", "failed", "canceled"], "description": "requested: recorded, Stripe has not taken it yet (retry it)."},
          "stripe_refund_id": {"type": ["string", "null"]},
          "restock": {"type": "boolean"},
          "staff_id": {"type": ["integer", "null"]},
          "staff_name": {"type": "string"},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"}
        }
      },
      "Order": {
        "type": "object",
        "required": ["id", "status", "payment_status", "stock_state", "allowed_statuses", "email", "customer_id", "customer_name", "currency",
          "subtotal_minor", "shipping_minor", "tax_minor", "tax_rate_bp", "tax_label", "prices_include_tax", "total_minor", "refunded_minor",
          "shipping_method", "shipping_address", "billing_address", "payment_intent_id", "stripe_account_id", "application_fee_minor",
          "carrier", "tracking_number", "created_at", "updated_at", "paid_at", "shipped_at", "cancelled_at", "lines", "events", "refunds"],
        "properties": {
          "id": {"type": "integer"},
          "status": {"$ref": "#/components/schemas/OrderStatus"},
          "payment_status": {"$ref": "#/components/schemas/PaymentStatus"},
          "stock_state": {"type": "string", "enum": ["reserved", "committed", "released"]},
          "allowed_statuses": {"type": "array", "items": {"$ref": "#/components/schemas/OrderStatus"}, "description": "What the status may be changed to now."},
          "email": {"type": "string"},
          "customer_id": {"type": ["integer", "null"]},
          "customer_name": {"type": "string"},
          "currency": {"$ref": "#/components/schemas/Currency"},
          "subtotal_minor": {"type": "integer", "minimum": 0},
          "shipping_minor": {"type": "integer", "minimum": 0},
          "tax_minor": {"type": "integer", "minimum": 0},
          "tax_rate_bp": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "Basis points: 2000 is 20 %."},
          "tax_label": {"type": "string"},
          "prices_include_tax": {"type": "boolean", "description": "true: tax_minor is included in the total; false: it was added to it."},
          "total_minor": {"type": "integer", "minimum": 0},
          "refunded_minor": {"type": "integer", "minimum": 0},
          "shipping_method": {"type": "string"},
          "shipping_address": {"type": "object"},
          "billing_address": {"type": ["object", "null"]},
          "payment_intent_id": {"type": ["string", "null"]},
          "stripe_account_id": {"type": ["string", "null"]},
          "application_fee_minor": {"type": "integer", "minimum": 0},
          "carrier": {"type": "string"},
          "tracking_number": {"type": "string"},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"},
          "paid_at": {"type": ["string", "null"], "format": "date-time"},
          "shipped_at": {"type": ["string", "null"], "format": "date-time"},
          "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
          "lines": {"type": "array", "items": {"$ref": "#/components/schemas/OrderLine"}},
          "events": {"type": "array", "items": {"$ref": "#/components/schemas/OrderEvent"}, "description": "The timeline, newest first."},
          "refunds": {"type": "array", "items": {"$ref": "#/components/schemas/Refund"}}
        }
      },
      "OrderStatusChange": {
        "type": "object",
        "additionalProperties": false,
        "required": ["status"],
        "properties": {
          "status": {"type": "string", "enum": ["fulfilled", "delivered", "cancelled"]},
          "reason": {"type": "string", "maxLength": 500, "description": "Kept as an internal note."},
          "restock": {"type": "boolean", "default": true, "description": "Cancelling a paid order: put its items back in stock."},
          "request_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$", "description": "Cancelling a paid order: the one-time key of its refund."}
        }
      },
      "Shipment": {
        "type": "object",
        "additionalProperties": false,
        "required": ["carrier", "tracking_number"],
        "properties": {
          "carrier": {"type": "string", "minLength": 1, "maxLength": 100},
          "tracking_number": {"type": "string", "minLength": 1, "maxLength": 100}
        }
      },
      "RefundCreate": {
        "type": "object",
        "additionalProperties": false,
        "required": ["amount_minor"],
        "properties": {
          "amount_minor": {"type": "integer", "minimum": 1, "description": "In the order's currency's minor unit."},
          "reason": {"type": "string", "maxLength": 500},
          "restock": {"type": "array", "description": "Units of the order's lines to put back in stock.",
            "items": {"type": "object", "additionalProperties": false, "required": ["line_id", "quantity"],
              "properties": {"line_id": {"type": "integer"}, "quantity": {"type": "integer", "minimum": 0}}}},
          "request_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$", "description": "A one-time key of your own: the same key gives back the same refund."}
        }
      },
      "RefundResult": {
        "type": "object",
        "required": ["refund", "order"],
        "properties": {"refund": {"$ref": "#/components/schemas/Refund"}, "order": {"$ref": "#/components/schemas/Order"}}
      },
      "NoteCreate": {
        "type": "object",
        "additionalProperties": false,
        "required": ["message"],
        "properties": {"message": {"type": "string", "minLength": 1, "maxLength": 5000}}
      },
      "TransitionError": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["status", "message", "current_status", "allowed", "request_id"],
            "properties": {
              "status": {"type": "integer", "const": 409},
              "message": {"type": "string", "description": "What the order may become instead."},
              "field": {"type": "string"},
              "current_status": {"$ref": "#/components/schemas/OrderStatus"},
              "allowed": {"type": "array", "items": {"$ref": "#/components/schemas/OrderStatus"}},
              "request_id": {"type": "string"}
            }
          }
        }
      },
      "Spent": {
        "type": "object",
        "required": ["currency", "amount_minor"],
        "properties": {"currency": {"$ref": "#/components/schemas/Currency"}, "amount_minor": {"type": "integer"}}
      },
      "CustomerSummary": {
        "type": "object",
        "required": ["id", "email", "name", "phone", "created_at", "last_login_at", "order_count", "spent"],
        "properties": {
          "id": {"type": "integer"},
          "email": {"type": "string"},
          "name": {"type": "string"},
          "phone": {"type": "string"},
          "created_at": {"type": "string", "format": "date-time"},
          "last_login_at": {"type": ["string", "null"], "format": "date-time"},
          "order_count": {"type": "integer", "minimum": 0},
          "spent": {"type": "array", "items": {"$ref": "#/components/schemas/Spent"}, "description": "Paid orders less refunds, per currency."}
        }
      },
      "CustomerPage": {
        "type": "object",
        "required": ["customers", "next_before"],
        "properties": {
          "customers": {"type": "array", "items": {"$ref": "#/components/schemas/CustomerSummary"}},
          "next_before": {"type": ["integer", "null"]}
        }
      },
      "CustomerAddress": {
        "type": "object",
        "required": ["id", "name", "line1", "line2", "postal_code", "city", "region", "country", "phone", "is_default"],
        "properties": {
          "id": {"type": "integer"}, "name": {"type": "string"}, "line1": {"type": "string"}, "line2": {"type": "string"},
          "postal_code": {"type": "string"}, "city": {"type": "string"}, "region": {"type": "string"},
          "country": {"type": "string", "pattern": "^[A-Z]{2}$"}, "phone": {"type": "string"}, "is_default": {"type": "boolean"}
        }
      },
      "Customer": {
        "allOf": [{"$ref": "#/components/schemas/CustomerSummary"}],
        "type": "object",
        "required": ["addresses", "orders", "more_orders"],
        "properties": {
          "addresses": {"type": "array", "items": {"$ref": "#/components/schemas/CustomerAddress"}},
          "orders": {"type": "array", "items": {"$ref": "#/components/schemas/OrderSummary"}, "description": "The latest 50, newest first."},
          "more_orders": {"type": "boolean"}
        }
      },
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["status", "message", "request_id"],
            "properties": {
              "status": {"type": "integer"},
              "message": {"type": "string"},
              "field": {"type": "string"},
              "fields": {"type": "object", "additionalProperties": {"type": "string"}},
              "request_id": {"type": "string"}
            }
          }
        }
      },
      "StockError": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["status", "message", "field", "stock", "request_id"],
            "properties": {
              "status": {"type": "integer", "const": 409},
              "message": {"type": "string"},
              "field": {"type": "string", "const": "quantity"},
              "stock": {"$ref": "#/components/schemas/Stock"},
              "request_id": {"type": "string"}
            }
          }
        }
      }
    }
  }
}`
