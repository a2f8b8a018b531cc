package backoffice

import (
	"encoding/json"
	"net/http"

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
    "description": "A shop's products and stock, for programs acting for a member of the shop's staff. Authenticate with a staff API token made in the back office under API tokens: Authorization: Bearer sfstaff_.... A token acts with its member's permissions at the time of each request and works on its own shop only. Prices are integers in the currency's minor unit (cents for EUR); there are no floating-point amounts. Errors are {\"error\": {\"status\", \"message\", \"field\", \"request_id\"}}, with \"fields\" for every invalid property on 422."
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
      "ProductID": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}
    },
    "responses": {
      "BadRequest": {"description": "The body is not JSON for this endpoint", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "No valid API token of this shop", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Forbidden": {"description": "The token's member lacks the permission", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "No such product", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "The change conflicts with the product's current state", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Invalid": {"description": "Invalid properties or parameters", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
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
          "category_ids", "stock", "created_at", "updated_at"],
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
