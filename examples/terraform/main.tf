# An ExpressRoute circuit with private peering, and a virtual network connected to it through
# an ExpressRoute gateway — on Causeway instead of Azure. Same resources, same provider; only
# the provider block points somewhere else. See README.md for the commands.

terraform {
  required_version = ">= 1.5"
  required_providers {
    azurerm = {
      # 4.60 and later: the requests for these resources are the same up to 5.2.
      source  = "hashicorp/azurerm"
      version = ">= 4.60, < 6.0"
    }
  }
}

provider "azurerm" {
  features {}

  # The cloud is discovered from https://<metadata_host>/metadata/endpoints: Causeway's own
  # URL for Resource Manager and its login endpoint (<url>/adfs) for the client-credentials
  # token. Credentials come from ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID and
  # ARM_SUBSCRIPTION_ID; TLS trust from SSL_CERT_FILE.
  metadata_host = var.causeway_host

  # "core": at start the provider lists the subscription's resource providers once and
  # registers those of its core set that are listed but not yet registered. Causeway lists
  # the namespaces it serves (Microsoft.Network, Microsoft.Resources); the rest of the core
  # set is not listed there and is skipped with a warning. "none" skips the listing too.
  # (`skip_provider_registration` is deprecated in 4.x and gone in 5.0: do not use it.)
  resource_provider_registrations = "core"
}

variable "causeway_host" {
  description = "host:port of `causeway serve` (its --listen or --public-url)."
  type        = string
  default     = "127.0.0.1:8443"
}

variable "location" {
  type    = string
  default = "westeurope"
}

variable "bgp_md5_key" {
  description = "MD5 key of the two private-peering BGP sessions."
  type        = string
  sensitive   = true
  default     = "tf-md5-secret"
}

locals {
  tags = {
    environment  = "lab"
    "managed-by" = "terraform"
  }
}

resource "azurerm_resource_group" "lab" {
  name     = "causeway-tf"
  location = var.location
  tags     = local.tags
}

# The circuit, ordered from the built-in lab provider at its only peering location.
resource "azurerm_express_route_circuit" "er" {
  name                  = "er-tf"
  resource_group_name   = azurerm_resource_group.lab.name
  location              = azurerm_resource_group.lab.location
  service_provider_name = "Causeway Lab"
  peering_location      = "Lab"
  bandwidth_in_mbps     = 50

  sku {
    tier   = "Standard"
    family = "MeteredData"
  }

  tags = local.tags
}

# Private peering: your router takes the first address of each /30, the edges the second.
resource "azurerm_express_route_circuit_peering" "private" {
  peering_type                  = "AzurePrivatePeering"
  express_route_circuit_name    = azurerm_express_route_circuit.er.name
  resource_group_name           = azurerm_resource_group.lab.name
  peer_asn                      = 65010
  primary_peer_address_prefix   = "192.168.20.0/30"
  secondary_peer_address_prefix = "192.168.20.4/30"
  vlan_id                       = 200
  shared_key                    = var.bgp_md5_key
}

resource "azurerm_virtual_network" "cloud" {
  name                = "vnet-tf"
  resource_group_name = azurerm_resource_group.lab.name
  location            = azurerm_resource_group.lab.location
  address_space       = ["10.20.0.0/16"]
  tags                = local.tags
}

resource "azurerm_subnet" "gateway" {
  name                 = "GatewaySubnet"
  resource_group_name  = azurerm_resource_group.lab.name
  virtual_network_name = azurerm_virtual_network.cloud.name
  address_prefixes     = ["10.20.255.0/27"]
}

# A Standard, Static public IP from Causeway's address pool. It stands on its own: azurerm
# 4.60 and later refuse `public_ip_address_id` on an ExpressRoute gateway (Azure assigns the
# gateway's address itself), so the gateway below has none.
resource "azurerm_public_ip" "lab" {
  name                = "pip-tf"
  resource_group_name = azurerm_resource_group.lab.name
  location            = azurerm_resource_group.lab.location
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = local.tags
}

resource "azurerm_virtual_network_gateway" "er" {
  name                = "gw-tf"
  resource_group_name = azurerm_resource_group.lab.name
  location            = azurerm_resource_group.lab.location
  type                = "ExpressRoute"
  sku                 = "ErGw1AZ"

  ip_configuration {
    subnet_id = azurerm_subnet.gateway.id
  }

  tags = local.tags
}

resource "azurerm_virtual_network_gateway_connection" "er" {
  name                       = "conn-tf"
  resource_group_name        = azurerm_resource_group.lab.name
  location                   = azurerm_resource_group.lab.location
  type                       = "ExpressRoute"
  virtual_network_gateway_id = azurerm_virtual_network_gateway.er.id
  express_route_circuit_id   = azurerm_express_route_circuit.er.id
  routing_weight             = 10
  tags                       = local.tags

  # A circuit takes a connection only once its private peering exists (as on Azure), and
  # the peering cannot go while the connection uses it.
  depends_on = [azurerm_express_route_circuit_peering.private]
}

output "service_key" {
  description = "What the connectivity provider provisions the circuit by."
  value       = azurerm_express_route_circuit.er.service_key
  sensitive   = true
}

output "public_ip_address" {
  value = azurerm_public_ip.lab.ip_address
}

output "azure_asn" {
  value = azurerm_express_route_circuit_peering.private.azure_asn
}
